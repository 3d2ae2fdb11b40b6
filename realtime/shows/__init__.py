"""The live-show WebSocket: chat, presence, reactions, pins and flash drops (see realtime/shows/README.md)."""
