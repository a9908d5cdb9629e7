"""What the tests share: plain helpers and classes, no fixtures (those are in the conftest.py files).

Nothing here imports a conftest.py or a test module, and no test module imports another or a
conftest.py (tests/test_suite_rules.py checks both).
"""
