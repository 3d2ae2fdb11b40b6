"""Use cases of live shows: lifecycle, pins, flash drops, chat and moderation."""
