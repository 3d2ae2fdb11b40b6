"""docs/events.md is generated from the schemas and must be committed up to date."""

from realtime.contracts import all_contracts
from realtime.docgen import DOC_PATH, render


def test_committed_event_docs_match_the_schemas() -> None:
    assert DOC_PATH.exists(), "run: manage.py gen_event_docs"
    assert DOC_PATH.read_text() == render(), "docs/events.md is stale: run manage.py gen_event_docs"


def test_every_type_is_documented_with_its_topic_and_example() -> None:
    text = render()
    for contract in all_contracts().values():
        assert f"### {contract.type}\n" in text
        assert f'"type": "{contract.type}"' in text
