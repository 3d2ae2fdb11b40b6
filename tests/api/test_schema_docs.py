"""The NFT, show and payment endpoints are documented like the commerce ones: body shapes and errors."""

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

DOCUMENTED_HERE = re.compile(
    r"^/api/v1/(nft/|shows/|merchants/\{merchant_id\}/(shows|collections)/|orders/\{id\}/pay)"
)


@pytest.mark.django_db
def test_every_nft_and_show_operation_has_a_body_schema_and_errors() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ops = [
        (f"{method.upper()} {path}", op)
        for path, item in schema["paths"].items()
        if DOCUMENTED_HERE.match(path)
        for method, op in item.items()
    ]
    assert len(ops) >= 30
    for name, op in ops:
        responses = op["responses"]
        errors = [code for code in responses if code.startswith(("4", "5"))]
        takes_input = "{" in name or op.get("parameters") or "requestBody" in op
        assert errors or not takes_input, f"{name} documents no error response"
        for code in errors:
            ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/Error"), f"{name} {code} is not in the error shape"
        success = [code for code in responses if code.startswith("2")]
        assert success, f"{name} documents no success response"
        for code in success:
            if code == "202" and "demo-confirm" in name:
                continue  # no body
            body = responses[code].get("content", {}).get("application/json", {}).get("schema")
            assert body, f"{name} {code} has no body schema"
    # And no operation id is generated twice (clients use them as method names).
    op_ids = [op["operationId"] for item in schema["paths"].values() for op in item.values()]
    assert len(op_ids) == len(set(op_ids))
