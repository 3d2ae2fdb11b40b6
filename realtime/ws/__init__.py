"""Live WebSockets: Channels consumers, the per-process fan-out hub and the Kafka -> Channels projector.

Read `realtime/ws/README.md` for the message protocol, the fan-out design and its measurements.
"""
