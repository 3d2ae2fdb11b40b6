"""The error tree of auctions and giveaways; codes are stable, clients switch on them."""

from config.errors import ApplicationError


class AuctionError(ApplicationError):
    code = "auction_error"
    http_status = 400


class AuctionNotFound(AuctionError):
    """Unknown auction, or one of another show / merchant (we never reveal which)."""

    code = "auction_not_found"
    http_status = 404


class InvalidAuctionData(AuctionError):
    code = "invalid_auction_data"
    http_status = 422


class AuctionAlreadyOpen(AuctionError):
    code = "auction_already_open"
    http_status = 409


class InvalidAuctionTransition(AuctionError):
    code = "invalid_auction_transition"
    http_status = 409


class AuctionNotOpen(AuctionError):
    """Not open for bids by server time: scheduled, ended (even if not yet closed), closed."""

    code = "auction_not_open"
    http_status = 409


class BidInvalid(AuctionError):
    code = "bid_invalid"
    http_status = 400


class BidTooLow(AuctionError):
    code = "bid_too_low"
    http_status = 409


class AlreadyLeading(AuctionError):
    code = "already_leading"
    http_status = 409


class BidNotAuthenticated(AuctionError):
    code = "bid_not_authenticated"
    http_status = 401


class BidderMuted(AuctionError):
    code = "bidder_muted"
    http_status = 403


class BidderBlocked(AuctionError):
    code = "bidder_blocked"
    http_status = 403


class HostCannotBid(AuctionError):
    code = "host_cannot_bid"
    http_status = 403


class BidRateLimited(AuctionError):
    code = "bid_rate_limited"
    http_status = 429
    retriable = True


class GiveawayNotFound(AuctionError):
    code = "giveaway_not_found"
    http_status = 404


class GiveawayClosed(AuctionError):
    code = "giveaway_closed"
    http_status = 409


class GiveawayAlreadyOpen(AuctionError):
    code = "giveaway_already_open"
    http_status = 409


class GiveawayNoEntrants(AuctionError):
    code = "giveaway_no_entrants"
    http_status = 409


class GiveawayNotAuthenticated(AuctionError):
    code = "giveaway_not_authenticated"
    http_status = 401
