"""The event backbone (envelope, schemas, outbox, Kafka relay and consumers) and the Channels side."""
