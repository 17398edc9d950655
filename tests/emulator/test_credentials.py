"""Credentials: validation, auth types per credential type, secret shapes, write-only secrets, rotation."""
import pytest

from emulator_helpers import ISO_MS, assert_error, is_uuid4

PROXY_AUTH = ["apiKey", "bearer", "jwt", "basicAuth", "jwtVerify"]
TARGET_AUTH = ["apiKey", "bearer", "jwt", "basicAuth", "oauth2", "customToken", "custom", "none"]
SECRETS = {
    "apiKey": {"apiKey": "k", "headerName": "X-API-Key"},
    "bearer": {"token": "t", "prefix": "Token "},
    "jwt": {"token": "eyJ.x.y"},
    "basicAuth": {"username": "u", "password": "p"},
    "oauth2": {"grantType": "client_credentials", "clientId": "c", "clientSecret": "s",
               "tokenUrl": "https://auth.example.com/token", "scope": "read"},
    "customToken": {"url": "https://auth.example.com/t", "method": "POST", "tokenPath": "$.access_token",
                    "headers": {"X-A": "1"}, "body": {"a": 1}},
    "custom": {"headers": {"X-Custom": "v"}},
    "none": {},
    "jwtVerify": {"jwksUri": "https://issuer.example.com/.well-known/jwks.json", "audience": "api"},
}


def body(ctype="target", auth="apiKey", secret=None, **extra):
    out = {"credentialName": "c", "credentialType": ctype, "credentialAuthType": auth,
           "credentialRegion": "us-east-1", "credentialSecret": SECRETS[auth] if secret is None else secret}
    out.update(extra)
    return out


def create(user, cid, **kw):
    return user.post(f"/clients/{cid}/credentials", body(**kw))


@pytest.mark.parametrize("ctype,auth", [("proxy", a) for a in PROXY_AUTH] + [("target", a) for a in TARGET_AUTH])
def test_allowed_auth_types_create_with_their_secret_shape(user, cid, ctype, auth):
    r = create(user, cid, ctype=ctype, auth=auth)
    assert r.status_code == 201, r.text
    (cred,) = r.json()["credentials"]
    assert is_uuid4(cred["sKey"]) and cred["pKey"] == cid == cred["clientId"] == cred["parentId"]
    assert cred["credentialType"] == ctype and cred["credentialAuthType"] == auth
    assert ISO_MS.match(cred["credentialCreatedAt"]) and cred["credentialCreatedAt"] == cred["credentialUpdatedAt"]
    assert "credentialSecret" not in cred


@pytest.mark.parametrize("ctype,auth", [("proxy", a) for a in TARGET_AUTH if a not in PROXY_AUTH]
                         + [("target", "jwtVerify")])
def test_disallowed_auth_types_are_400_with_allowed_values(user, cid, ctype, auth):
    err = assert_error(create(user, cid, ctype=ctype, auth=auth), 400, "VALIDATION_ERROR", "credentialAuthType")
    allowed = PROXY_AUTH if ctype == "proxy" else TARGET_AUTH
    assert all(a in err["message"] for a in allowed)


@pytest.mark.parametrize("field,value", [("credentialType", "both"), ("credentialAuthType", "kerberos"),
                                         ("credentialRegion", "mars-1"), ("credentialName", ""),
                                         ("credentialName", "x" * 101), ("credentialSecret", "plain")])
def test_field_validation_names_field_and_allowed_values(user, cid, field, value):
    err = assert_error(create(user, cid, **{field: value}), 400, "VALIDATION_ERROR", field)
    if field == "credentialRegion":
        assert "us-east-1" in err["message"] and "ap-southeast-2" in err["message"]
    if field == "credentialType":
        assert "proxy" in err["message"] and "target" in err["message"]


@pytest.mark.parametrize("missing", ["credentialName", "credentialType", "credentialAuthType", "credentialRegion",
                                     "credentialSecret"])
def test_required_fields(user, cid, missing):
    b = body()
    del b[missing]
    assert_error(user.post(f"/clients/{cid}/credentials", b), 400, mentions=missing)


@pytest.mark.parametrize("auth,secret,mentions", [
    ("apiKey", {"headerName": "X"}, "apiKey"),
    ("bearer", {}, "token"),
    ("basicAuth", {"username": "u"}, "password"),
    ("oauth2", {"grantType": "client_credentials", "clientId": "c", "clientSecret": "s"}, "tokenUrl"),
    ("oauth2", {"grantType": "implicit", "clientId": "c", "clientSecret": "s", "tokenUrl": "https://x"},
     "grantType"),
    ("customToken", {"url": "https://x", "method": "POST"}, "tokenPath"),
    ("customToken", {"url": "https://x", "method": "FETCH", "tokenPath": "$.t"}, "method"),
    ("custom", {}, "headers"),
    ("custom", {"headers": {}}, "headers"),
    ("jwtVerify", {"audience": "a"}, "jwksUri"),
    ("jwtVerify", {"jwksUri": "https://x", "sharedSecret": "s"}, "sharedSecret"),
    ("jwtVerify", {"jwksUri": "not a url"}, "jwksUri"),
    ("apiKey", {"apiKey": 5}, "apiKey"),
])
def test_secret_shapes_are_checked(user, cid, auth, secret, mentions):
    ctype = "proxy" if auth == "jwtVerify" else "target"
    assert_error(create(user, cid, ctype=ctype, auth=auth, secret=secret), 400, "VALIDATION_ERROR", mentions)


def test_secret_extra_keys_are_kept_and_none_may_omit_secret(user, cid):
    assert create(user, cid, auth="apiKey", secret={"apiKey": "k", "vendorHint": "x"}).status_code == 201
    b = body(auth="none")
    del b["credentialSecret"]
    assert user.post(f"/clients/{cid}/credentials", b).status_code == 201
    assert create(user, cid, ctype="proxy", auth="jwtVerify", secret={"sharedSecret": "s", "issuer": "i"}) \
        .status_code == 201


def test_secret_is_never_returned_nor_logged(emu, user, cid):
    marker = "TOP-SECRET-7f3a9"
    cred = create(user, cid, secret={"apiKey": marker}).json()["credentials"][0]
    responses = [user.get(f"/clients/{cid}/credentials"), user.get(f"/clients/{cid}/credentials/{cred['sKey']}"),
                 user.put(f"/clients/{cid}/credentials/{cred['sKey']}", {"credentialSecret": {"apiKey": marker}}),
                 user.get(f"/clients/{cid}/credentials", params={"includeTemporary": "true"})]
    for r in responses:
        assert r.status_code == 200 and marker not in r.text and "credentialSecret" not in r.text


def test_rotation_bumps_updated_at_and_validates_against_auth_type(user, cid):
    cred = create(user, cid).json()["credentials"][0]
    path = f"/clients/{cid}/credentials/{cred['sKey']}"
    r = user.put(path, {"credentialSecret": {"apiKey": "rotated"}})
    assert r.status_code == 200
    rotated = r.json()["credentials"][0]
    assert rotated["credentialUpdatedAt"] > cred["credentialUpdatedAt"]
    assert rotated["credentialCreatedAt"] == cred["credentialCreatedAt"]
    assert_error(user.put(path, {"credentialSecret": {"token": "wrong shape"}}), 400, mentions="apiKey")
    assert user.get(path).json()["credentials"][0] == rotated


def test_immutable_fields(user, cid):
    cred = create(user, cid).json()["credentials"][0]
    path = f"/clients/{cid}/credentials/{cred['sKey']}"
    for field, value in [("credentialType", "proxy"), ("credentialAuthType", "bearer"),
                         ("credentialRegion", "eu-west-1")]:
        assert_error(user.put(path, {field: value}), 400, "IMMUTABLE_FIELD", field)
    same = {"credentialType": "target", "credentialAuthType": "apiKey", "credentialRegion": "us-east-1",
            "credentialName": "renamed"}
    r = user.put(path, same)
    assert r.status_code == 200 and r.json()["credentials"][0]["credentialName"] == "renamed"


def test_put_merges(user, cid):
    cred = create(user, cid).json()["credentials"][0]
    path = f"/clients/{cid}/credentials/{cred['sKey']}"
    updated = user.put(path, {"credentialName": "new"}).json()["credentials"][0]
    assert {k: v for k, v in updated.items() if k not in ("credentialName", "credentialUpdatedAt")} == \
           {k: v for k, v in cred.items() if k not in ("credentialName", "credentialUpdatedAt")}
    assert_error(user.put(path, {"credentialName": None}), 400, mentions="credentialName")
    assert_error(user.put(path, {"credentialColour": "x"}), 400, mentions="credentialColour")


@pytest.mark.parametrize("grant", ["authorization_code", "pkce"])
def test_oauth2_interactive_grants_are_temporary(emu, user, cid, grant):
    secret = {**SECRETS["oauth2"], "grantType": grant, "authorizationUrl": "https://auth.example.com/authorize"}
    temp = create(user, cid, auth="oauth2", secret=secret).json()["credentials"][0]
    normal = create(user, cid).json()["credentials"][0]
    assert temp["credentialTemporary"] is True and normal["credentialTemporary"] is False
    listed = [c["sKey"] for c in user.get(f"/clients/{cid}/credentials").json()["credentials"]]
    assert listed == [normal["sKey"]]
    for flag in ("true", "True", "1"):
        everything = user.get(f"/clients/{cid}/credentials", params={"includeTemporary": flag}).json()
        assert [c["sKey"] for c in everything["credentials"]] == [temp["sKey"], normal["sKey"]]
        assert everything["pagination"]["total"] == 2
    assert user.get(f"/clients/{cid}/credentials", params={"includeTemporary": "false"}).json()[
        "pagination"]["total"] == 1
    assert_error(user.get(f"/clients/{cid}/credentials", params={"includeTemporary": "maybe"}), 400,
                 mentions="includeTemporary")
    assert user.get(f"/clients/{cid}/credentials/{temp['sKey']}").status_code == 200   # get-one still works
    emu.authorize_credential(cid, temp["sKey"])
    assert user.get(f"/clients/{cid}/credentials").json()["pagination"]["total"] == 2


def test_delete_then_404_everywhere(user, cid):
    cred = create(user, cid).json()["credentials"][0]
    path = f"/clients/{cid}/credentials/{cred['sKey']}"
    rule = user.post(f"{path}/rules", {"effect": "allow", "priority": 1}).json()["rules"][0]
    r = user.delete(path)
    assert r.status_code == 200 and r.json() == {"message": "Success"}
    assert_error(user.get(path), 404, "NOT_FOUND")
    assert_error(user.put(path, {"credentialName": "x"}), 404)
    assert_error(user.delete(path), 404)
    assert_error(user.get(f"{path}/rules"), 404)
    assert_error(user.delete(f"{path}/rules/{rule['sKey']}"), 404)


def test_other_clients_resources_are_404(user, cid):
    cred = create(user, cid).json()["credentials"][0]
    mine = user.new_client("second")
    assert_error(user.get(f"/clients/{mine}/credentials/{cred['sKey']}"), 404)
    assert_error(user.delete(f"/clients/{mine}/credentials/{cred['sKey']}"), 404)
