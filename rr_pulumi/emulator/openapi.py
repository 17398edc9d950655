def openapi_document(regions):
    return {"openapi": "3.1.0"}
