"""OpenAPI shapes of the show endpoints (the views return selector dicts; these only describe them)."""

from typing import Any

from rest_framework import serializers


class ShowHeaderDoc(serializers.Serializer[Any]):
    show_id = serializers.IntegerField()
    merchant_id = serializers.IntegerField()
    merchant = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    cover_image_url = serializers.CharField(allow_blank=True)
    playback_url = serializers.CharField()
    playback_kind = serializers.ChoiceField(choices=["hls", "embed"])
    state = serializers.CharField()
    scheduled_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class ChatMessageDoc(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    text = serializers.CharField(help_text="As typed: render as text, never as HTML.")
    role = serializers.ChoiceField(choices=["host", "viewer"])
    at = serializers.DateTimeField()


class PostedMessageDoc(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    text = serializers.CharField()


class ShowSnapshotDoc(serializers.Serializer[Any]):
    show = ShowHeaderDoc()
    pinned = serializers.DictField(allow_null=True, help_text="Pinned product card, with its 3D asset.")
    flash_drop = serializers.DictField(allow_null=True, help_text="Running flash drop and its stock.")
    auction = serializers.DictField(allow_null=True, help_text="Current (or last) auction, as `auction` frames carry it.")
    giveaway = serializers.DictField(allow_null=True, help_text="Current (or last) giveaway.")
    sales = serializers.DictField()
    server_time = serializers.DateTimeField()
    messages = ChatMessageDoc(many=True, required=False)
    you = serializers.DictField(required=False)


class VenueFeedDoc(serializers.Serializer[Any]):
    show_id = serializers.IntegerField()
    title = serializers.CharField()
    state = serializers.CharField()
    playback_url = serializers.CharField()
    pinned = serializers.DictField(allow_null=True)
    flash_drop = serializers.DictField(allow_null=True)
    auction = serializers.DictField(allow_null=True)
    giveaway = serializers.DictField(allow_null=True)
    server_time = serializers.DateTimeField()


class ShowOrderDoc(serializers.Serializer[Any]):
    order_id = serializers.IntegerField()
    status = serializers.CharField()
    total = serializers.IntegerField(help_text="minor units")
    currency = serializers.CharField()
