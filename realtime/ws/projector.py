"""The live projector: Kafka `inventory.*`, `drop.*`, `order.*`, `payment.*`, `nft.*`, `shipment.*` -> Channels groups.

Its own light loop (`manage.py project_live`), not a `manage.py consume` handler, because:
- a frame's seq is the Kafka offset (+1) of the event, which the consumer runner does not hand
  to handlers; offsets are monotonic per drop/order, survive restarts, and make a replayed
  frame carry its original number, so re-publishing after a crash is harmless;
- it writes nothing to PostgreSQL, so an inbox row per event (10k/s in a stampede) buys nothing:
  at-least-once delivery plus seq de-duplication in the hub gives exactly-once *display*;
- coalescing needs a timer, and an offset may only be committed once the coalesced frame that
  covers it is published (`StockCoalescer.holds`), which a per-event handler cannot express.

Per loop: poll a batch (blocking only until the first message or the next coalescing deadline),
fold stock events into the coalescer, publish immediate frames (state changes, sold out, order
progress) and due stock frames -- each appended to the stream's resume buffer in Redis, then
`group_send` to the stream's group -- then store offsets below anything still pending. Killed
at any point, the restarted projector re-reads from the last committed offset and clients
converge (tested in tests/ws/test_projector_restart.py).
"""

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.layers import get_channel_layer
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import close_old_connections
from django.db.utils import InterfaceError, OperationalError
from opentelemetry.trace import Span, SpanKind

from realtime import tracing
from realtime.consumer_decode import Decoded, decode_message
from realtime.deadletter import DeadLetterSink
from realtime.kafka_config import consumer_config
from realtime.topics import topic_for_aggregate
from realtime.ws import frames, snapshots, store
from realtime.ws.coalesce import Position, StockCoalescer
from realtime.ws.protocol import FrameTemplate, StreamFrame

log = logging.getLogger(__name__)

GROUP = "projector"
# The topics (by aggregate) whose events become frames (realtime/ws/frames.py routes them).
TOPIC_AGGREGATES = ("drop", "order")
BATCH = 1000
# The coalescer forgets the flush times (and widened windows) of drops quiet this long, checked
# once per FORGET_EVERY_S: its memory is bounded by the drops active in the last hour.
COALESCER_KEEP_S = 3600.0
FORGET_EVERY_S = 60.0


class Projector:
    def __init__(
        self,
        *,
        window_ms: int | None = None,
        dashboard_ms: int | None = None,
        max_window_ms: int | None = None,
    ) -> None:
        self.window_s = (window_ms if window_ms is not None else settings.WS_COALESCE_WINDOW_MS) / 1000
        max_ms = max_window_ms if max_window_ms is not None else settings.WS_COALESCE_MAX_WINDOW_MS
        self.dashboard_s = (
            dashboard_ms if dashboard_ms is not None else settings.WS_DASHBOARD_INTERVAL_MS
        ) / 1000
        self.coalescer = StockCoalescer(self.window_s, max_window_s=max_ms / 1000)
        self.topics = sorted({topic_for_aggregate(a).full_name for a in TOPIC_AGGREGATES})
        self.consumer = Consumer(consumer_config(GROUP))
        self.kafka = ThreadPoolExecutor(1, thread_name_prefix="projector-kafka")
        self.db = ThreadPoolExecutor(1, thread_name_prefix="projector-db")
        self.dead_letters = DeadLetterSink(GROUP)
        self.layer = get_channel_layer()
        self.consumed: dict[Position, int] = {}  # next offset to read, per partition
        self.revoked: set[Position] = set()
        self.dirty_merchants: set[int] = set()
        self.dirty_drops: set[int] = set()
        self.dirty_orders: set[int] = set()
        self.merchant_of_drop: dict[int, int] = {}
        self.merchant_of_order: dict[int, int] = {}
        self.next_dashboard = 0.0
        self.next_forget = 0.0
        self.published = 0
        # Spans of the events whose frames go out in the next publish() (tracing on only).
        self.frame_spans: list[Span] = []

    # --- Kafka (always on the kafka thread) -----------------------------------------------------
    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Pending frames of these partitions are dropped; their offsets were not stored, so the
        # next owner replays those events.
        self.revoked |= {(p.topic, p.partition) for p in partitions}
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("projector: commit on revoke failed: %s", exc)

    def _poll(self, timeout: float) -> list[Message]:
        first = self.consumer.poll(timeout)
        if first is None:
            return []
        return [first, *self.consumer.consume(num_messages=BATCH - 1, timeout=0)]

    def _store(self, offsets: list[TopicPartition]) -> None:
        if offsets:
            try:
                self.consumer.store_offsets(offsets=offsets)
            except KafkaException as exc:  # a partition revoked meanwhile: its new owner replays
                log.info("projector: store_offsets skipped: %s", exc)

    # --- one round --------------------------------------------------------------------------------
    def fold(self, messages: list[Message], now: float) -> list[StreamFrame]:
        """Turn a batch into frames to publish now; stock updates go to the coalescer."""
        out: list[StreamFrame] = []
        for msg in messages:
            if msg.error():
                log.warning("projector: %s", msg.error())
                continue
            pos: Position = (msg.topic() or "", msg.partition() or 0)
            offset = msg.offset() or 0
            self.consumed[pos] = offset + 1
            decoded = decode_message(msg)
            event = decoded.event
            if event is None:
                self.dead_letters.send(msg, decoded.error or ValueError("undecodable"), attempts=1,
                                       event_id=decoded.headers.get("event-id", ""),
                                       event_type=decoded.headers.get("event-type", ""))  # fmt: skip
                continue
            seq = offset + 1  # 0 means "before the first message" in snapshots
            span = self._event_span(decoded, seq) if tracing.enabled() else None
            p = event.payload
            if event.type in frames.STOCK_EVENTS:
                drop_id = int(p["drop_id"])
                sold_out = event.type == "inventory.sold_out"
                self.coalescer.add(drop_id=drop_id, payload=p, seq=seq, at=event.occurred_at.isoformat(),
                                   position=pos, offset=offset, sold_out=sold_out)  # fmt: skip
                if sold_out:  # a final state never waits for the window
                    out.append(frames.stock_frame(self.coalescer.take(drop_id, now)))  # type: ignore[arg-type]
                elif span is not None:  # folded into a frame a coalescing window later
                    span.end()
                    span = None
                self._dirty(p)
            elif event.type == "drop.state_changed":
                drop_id = int(p["drop_id"])
                pending = self.coalescer.take(drop_id, now)
                if pending is not None:
                    out.append(frames.stock_frame(pending))
                out.append(frames.drop_state_frame(event, seq))
                self._dirty(p)
            elif (frame := frames.order_frame(event, seq)) is not None:
                out.append(frame)
                self._dirty(p)
            if span is not None:
                self.frame_spans.append(span)
        return out

    def _event_span(self, decoded: Decoded, seq: int) -> Span | None:
        """The projector's span of one event, in the event's trace; it ends once its frame is sent.

        None for an event that carries no trace context (as the relay does for such rows): a new
        root trace per event cost as much CPU as the projection itself in a 50,000-event burst
        (bench/README.md, backpressure), and a trace of one span says nothing.
        """
        event = decoded.event
        assert event is not None
        parent = tracing.event_parent(event, decoded.headers)
        if tracing.parse_traceparent(parent) is None:
            return None
        return tracing.start_span(
            f"projector {event.type}",
            kind=SpanKind.CONSUMER,
            parent=parent,
            attributes={
                "messaging.system": "kafka",
                "messaging.consumer.group.name": GROUP,
                "messaging.message.id": str(event.id),
                "mintdrop.event.type": event.type,
                "mintdrop.event.key": event.key,
                "mintdrop.ws.seq": seq,
            },
        )

    def _end_frame_spans(self) -> None:
        spans, self.frame_spans = self.frame_spans, []
        for span in spans:
            span.end()

    def _dirty(self, p: dict[str, Any]) -> None:
        if "merchant_id" in p:
            self.dirty_merchants.add(int(p["merchant_id"]))
        elif "drop_id" in p and p["drop_id"] is not None:
            self.dirty_drops.add(int(p["drop_id"]))
        elif "order_id" in p:
            self.dirty_orders.add(int(p["order_id"]))

    def offsets_to_store(self) -> list[TopicPartition]:
        holds = self.coalescer.holds()
        return [
            TopicPartition(topic, partition, min(upto, holds.get((topic, partition), upto)))
            for (topic, partition), upto in self.consumed.items()
        ]

    # --- publishing ---------------------------------------------------------------------------
    async def publish(self, items: list[StreamFrame]) -> None:
        """Buffer each frame for resume, then group_send it (always: a replay is de-duplicated by seq)."""
        if not items:
            self._end_frame_spans()
            return
        await store.broadcast(self.layer, items)
        self.published += len(items)
        self._end_frame_spans()  # each event's span covers its frame's trip to the sockets' group

    def _dashboards(self) -> list[FrameTemplate]:
        """On the db thread: resolve merchants of dirty drops/orders, recompute their dashboards."""
        close_old_connections()
        drops = [d for d in self.dirty_drops if d not in self.merchant_of_drop]
        self.merchant_of_drop.update(snapshots.drop_merchants(drops) if drops else {})
        orders = [o for o in self.dirty_orders if o not in self.merchant_of_order]
        self.merchant_of_order.update(snapshots.order_merchants(orders) if orders else {})
        merchants = set(self.dirty_merchants)
        merchants |= {self.merchant_of_drop[d] for d in self.dirty_drops if d in self.merchant_of_drop}
        merchants |= {self.merchant_of_order[o] for o in self.dirty_orders if o in self.merchant_of_order}
        self.dirty_merchants.clear()
        self.dirty_drops.clear()
        self.dirty_orders.clear()
        return [
            frames.dashboard_template(m, snapshots.merchant_dashboard(merchant_id=m))
            for m in sorted(merchants)
        ]

    async def publish_dashboards(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            templates = await loop.run_in_executor(self.db, self._dashboards)
        except (OperationalError, InterfaceError) as exc:
            # The database is unreachable (a restart): the dirty sets are kept (they are cleared only
            # after the reads), so the next round recomputes them; close_old_connections() there drops
            # the broken session. Frames from Kafka keep flowing meanwhile.
            log.warning("projector: dashboards not refreshed, database unreachable (%s)", exc)
            return
        assert self.layer is not None
        for template in templates:
            f = await store.append_next(template)
            await self.layer.group_send(store.group_name(f.stream), f.layer_message())

    def forget_quiet_drops(self, now: float) -> None:
        """Bound the coalescer's memory: at most once per FORGET_EVERY_S, drop what quiet drops left."""
        if now >= self.next_forget:
            self.next_forget = now + FORGET_EVERY_S
            self.coalescer.forget_old(now, keep_s=COALESCER_KEEP_S)

    # --- the loop -----------------------------------------------------------------------------
    async def run(self, stop: threading.Event) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self.kafka, lambda: self.consumer.subscribe(self.topics, on_revoke=self._on_revoke)
        )
        log.info("projector: consuming %s", ", ".join(self.topics))
        try:
            while not stop.is_set():
                wait = self.coalescer.next_due_in(time.monotonic())
                timeout = 0.05 if wait is None else min(0.05, wait)
                messages = await loop.run_in_executor(self.kafka, self._poll, timeout)
                now = time.monotonic()
                if self.revoked:
                    self.coalescer.forget(self.revoked)
                    for pos in self.revoked:
                        self.consumed.pop(pos, None)
                    self.revoked.clear()
                out = self.fold(messages, now)
                out.extend(frames.stock_frame(e) for e in self.coalescer.due(now))
                await self.publish(out)
                if now >= self.next_dashboard and (
                    self.dirty_merchants or self.dirty_drops or self.dirty_orders
                ):
                    self.next_dashboard = now + self.dashboard_s
                    await self.publish_dashboards()
                await loop.run_in_executor(self.kafka, self._store, self.offsets_to_store())
                self.forget_quiet_drops(now)
            # Orderly stop: publish everything pending, then commit.
            await self.publish([frames.stock_frame(e) for e in self.coalescer.take_all(time.monotonic())])
            await loop.run_in_executor(self.kafka, self._store, self.offsets_to_store())
        finally:
            await loop.run_in_executor(self.kafka, self.consumer.close)
            self.kafka.shutdown()
            self.db.shutdown()


def run_projector(stop: threading.Event, **options: Any) -> None:
    """Run the projector in this thread until `stop` is set."""
    asyncio.run(Projector(**options).run(stop))
