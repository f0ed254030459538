"""OWSLib, the OGC client most Python GIS code uses, reads the service as a stranger would:
collections, items, queryables and a CQL2 text filter. Exits non-zero on the first wrong answer.

Usage: owslib_check.py BASE_URL
"""

import sys

from owslib.ogcapi.features import Features


def main(base: str) -> None:
    api = Features(base, timeout=60)

    collections = api.feature_collections()
    print(f"feature collections: {collections}")
    assert "facilities" in collections, "facilities is not listed as a feature collection"

    items = api.collection_items("facilities", limit=10)
    features = items["features"]
    print(f"facilities items (limit=10): {len(features)}, numberMatched={items.get('numberMatched')}")
    assert 0 < len(features) <= 10, f"limit=10 gave {len(features)} features"
    for f in features:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point", f
        assert "category" in f["properties"], f["properties"]

    queryables = api.collection_queryables("facilities")
    props = queryables.get("properties", {})
    print(f"facilities queryables: {sorted(props)}")
    assert "category" in props, "category is not queryable"
    category_enum = props["category"].get("enum")
    if category_enum is not None:
        assert "elder_canteen" in category_enum, category_enum

    filtered = api.collection_items("facilities", filter="category='elder_canteen'", limit=1000)
    canteens = filtered["features"]
    categories = {f["properties"]["category"] for f in canteens}
    print(f"filter=category='elder_canteen': {len(canteens)} features, categories {categories}")
    assert canteens, "the CQL2 filter matched nothing"
    assert categories == {"elder_canteen"}, categories
    matched = filtered.get("numberMatched")
    if matched is not None:
        assert matched == len(canteens), f"numberMatched {matched} but {len(canteens)} returned"
    # The filter narrows: fewer canteens than facilities.
    everything = api.collection_items("facilities", limit=1)
    total = everything.get("numberMatched")
    if total is not None:
        assert len(canteens) < total, f"{len(canteens)} canteens of {total} facilities"


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"))
