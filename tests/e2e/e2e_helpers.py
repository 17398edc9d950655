"""Helpers for the end-to-end tests that read the emulator directly."""
from __future__ import annotations


def every_item(api, path: str, plural: str) -> list[dict]:
    """Every item of a collection, reading every page ([] when the collection is gone)."""
    found, page = [], 1
    while True:
        response = api.get(api.base + path, params={"page": page, "limit": 100})
        if response.status_code == 404:
            return found
        response.raise_for_status()
        body = response.json()
        found += body[plural]
        if page >= body["pagination"]["pages"]:
            return found
        page += 1
