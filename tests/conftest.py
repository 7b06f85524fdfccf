import pytest


def _cupy_device_available() -> bool:
    try:
        from lemmata.numerics import backends
        backends.get("cupy")
    except Exception:
        return False
    return True


def pytest_collection_modifyitems(config, items):
    if _cupy_device_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
