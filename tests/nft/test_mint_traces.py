"""A batch of mints sent by one task keeps every purchase in its own trace: the transaction, its
`nft.mint.submitted` and its `nft.mint.confirmed` carry the trace of the mint's own request."""

from typing import Any

import pytest

from nft.models import ChainTransaction, Mint, MintStatus
from nft.services.mints import request_mint, send_mint
from realtime import tracing
from realtime.models import OutboxEvent
from tests.nft.helpers import BUYER
from tests.tracing import recording_spans, trace_hex

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _trace_of(traceparent: str) -> str:
    return traceparent.split("-")[1] if traceparent else ""


def test_each_mint_of_a_batch_keeps_its_own_trace_through_submit_and_confirm(
    collection: Any, confirm_until: Any, settings: Any
) -> None:
    settings.NFT_SEND_BATCH_SIZE = 8
    with recording_spans() as spans:
        mints: list[Mint] = []
        traces: list[str] = []
        for i in range(4):
            # each purchase's request in a trace of its own, as the nft consumer does per event
            with tracing.span("nft nft.mint.requested", parent="") as requested:
                mints.append(
                    request_mint(
                        order_id=88_000 + i,
                        line_id=88_100 + i,
                        collection=collection,
                        to_address=BUYER,
                        token_id=88_100 + i,
                    )
                )
            traces.append(format(requested.get_span_context().trace_id, "032x"))
        assert len(set(traces)) == 4

        send_mint(mint_id=mints[0].pk)  # one task: its mint leads a batch carrying the other three

        txs = {tx.mint_id: tx for tx in ChainTransaction.objects.filter(mint__in=mints)}
        assert len(txs) == 4, "the first task sent every waiting mint in its batch"
        assert sorted(tx.nonce for tx in txs.values()) == list(
            range(min(tx.nonce for tx in txs.values()), min(tx.nonce for tx in txs.values()) + 4)
        )
        for mint, trace in zip(mints, traces, strict=True):
            assert _trace_of(txs[mint.pk].traceparent) == trace, (
                "the transaction carries its own purchase's trace"
            )

        submitted = {e.payload["line_id"]: e for e in OutboxEvent.objects.filter(type="nft.mint.submitted")}
        for mint, trace in zip(mints, traces, strict=True):
            assert submitted[mint.line_id].trace_id == trace
            assert _trace_of(submitted[mint.line_id].traceparent) == trace

        confirm_until(
            lambda: (
                Mint.objects.filter(pk__in=[m.pk for m in mints], status=MintStatus.CONFIRMED).count() == 4
            )
        )
        confirmed = {e.payload["line_id"]: e for e in OutboxEvent.objects.filter(type="nft.mint.confirmed")}
        for mint, trace in zip(mints, traces, strict=True):
            assert confirmed[mint.line_id].trace_id == trace

        # every purchase's trace shows its send, the batch-mates' as part of the leader's batch
        sends = spans.named("nft send mint")
        assert {trace_hex(s) for s in sends} == set(traces)
        mates = [s for s in sends if s.attributes and "mintdrop.mint.batch_leader" in s.attributes]
        assert len(mates) == 3 and all(
            (s.attributes or {})["mintdrop.mint.batch_leader"] == mints[0].pk for s in mates
        )
