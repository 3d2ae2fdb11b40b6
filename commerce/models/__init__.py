"""Commerce data: merchants, catalog, drops and their stock, reservations, orders, idempotency keys."""

from commerce.models.catalog import NftCollection, PhygitalDelivery, Product, ProductKind, Sku
from commerce.models.collection_proofs import CollectionChallenge
from commerce.models.drops import Drop, DropBuyer, DropItem, DropState, StockShard
from commerce.models.idempotency import IdempotencyKey
from commerce.models.merchants import Merchant, MerchantMembership, MerchantRole, Settlement
from commerce.models.onboarding import ApplicationStatus, FeePlan, SellerApplication
from commerce.models.orders import ORDER_TRANSITIONS, LineStatus, Order, OrderLine, OrderStatus
from commerce.models.reservations import Reservation, ReservationStatus
from commerce.models.shipments import Shipment, ShipmentLine, ShipmentStatus

__all__ = [
    "ORDER_TRANSITIONS",
    "ApplicationStatus",
    "CollectionChallenge",
    "Drop",
    "DropBuyer",
    "DropItem",
    "DropState",
    "FeePlan",
    "IdempotencyKey",
    "LineStatus",
    "Merchant",
    "MerchantMembership",
    "MerchantRole",
    "NftCollection",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PhygitalDelivery",
    "Product",
    "ProductKind",
    "Reservation",
    "ReservationStatus",
    "SellerApplication",
    "Settlement",
    "Shipment",
    "ShipmentLine",
    "ShipmentStatus",
    "Sku",
    "StockShard",
]
