"""Friendly, actionable texts for every API error code a shopper or merchant can run into.

Pages show these instead of the raw API message (which stays available in `details` for support).
The same table is handed to page JavaScript (`json_script`) so JSON API errors read the same way.
A code missing here falls back to the API's own message, never to a stack trace.
"""

ERROR_MESSAGES: dict[str, str] = {
    # commerce: stock, drops, reservations, orders
    "sold_out": "Sold out — every unit is taken or held in someone's cart. Held units come back if they expire.",
    "stock_busy": "So many buyers at once for this item — please try again in a second.",
    "limit_exceeded": "You have reached the per-buyer limit for this drop.",
    "drop_not_live": "This drop is not open for sale right now.",
    "invalid_quantity": "Please choose a valid quantity.",
    "reservation_expired": "Your hold on this item expired. Reserve it again if it is still available.",
    "reservation_not_active": "This reservation is no longer active.",
    "no_reservations": "Your cart is empty: reserve something in a live drop first.",
    "mixed_merchants": "Items from different shops must be checked out separately.",
    "invalid_transition": "That action is not possible in the current state. Refresh to see the latest state.",
    "drop_not_editable": "A drop can only be edited before it starts.",
    "edition_exceeded": "That would exceed the NFT edition size of this item.",
    # marketplace: onboarding, Stripe Connect, fees, currencies
    "currency_mismatch": "A drop sells in one currency: every item in it must be priced in that currency.",
    "charges_not_enabled": "Finish your Stripe onboarding (Money page) first: until Stripe enables payments "
    "for your shop, no drop can open.",
    "invalid_application": "Some details of your application are missing or not valid. Please check the form.",
    "application_not_pending": "You already have an application waiting for review — we will e-mail you.",
    "invalid_fee_plan": "A fee plan takes 0 to 100 % plus a fixed amount of at least zero per currency.",
    "not_connect_merchant": "This shop is paid through the platform's account; contact us to move it to Stripe payouts.",
    # commerce/abuse: blocks from the merchant's live room
    "buyer_blocked": "The seller has blocked this account from buying in this drop.",
    "invalid_block": "Choose whether to block the buyer in this drop or in the whole shop.",
    "abuse_error": "That request was refused. Please try again.",
    # commerce/waiting_room: the queue in front of a hyped drop
    "admission_required": "This drop has a waiting room: join the queue and buy when it is your turn.",
    "admission_invalid": "Your place in the queue could not be checked. Please rejoin the waiting room.",
    "admission_expired": "Your turn to buy has passed. Rejoin the waiting room to try again.",
    "admission_not_yours": "That admission belongs to another buyer or drop. Please rejoin the waiting room.",
    "admission_used": "This admission was already used for a purchase.",
    "waiting_room_paused": "The waiting room is paused for a moment. Your page will retry by itself.",
    "no_waiting_room": "This drop has no waiting room: you can buy directly.",
    # collections: proving a contract is yours
    "challenge_invalid": "That signing challenge is unknown, expired or already used. Ask for a new one.",
    "ownership_not_proven": "The signature is not from the contract's on-chain owner or admin: nothing was registered.",
    "keystore_locked": "The platform's signing keys are not available right now. Please try again later.",
    "invalid_catalog_data": "Some product details are not valid. Please check the form.",
    "username_taken": "This username is taken. Please pick another one.",
    "authentication_failed": "Wrong username or password.",
    "not_found": "We could not find that. It may have been removed.",
    # merchant team: owners and staff
    "owner_required": "Only an owner of this shop can do that (refunds, payouts, the team and collections).",
    "last_owner": "A shop needs at least one owner: make someone else owner first.",
    "already_member": "That account is already on the team.",
    "idempotency_key_reused": "This request was already sent with different data. Please retry.",
    "idempotency_key_in_progress": "Your previous request is still being processed. Please wait a moment.",
    "invalid_idempotency_key": "Please reload the page and try again.",
    "commerce_error": "The request could not be completed.",
    "shipping_address_required": "This order ships to you: please enter a shipping address to check out.",
    "unknown_carrier": "Pick a carrier from the list.",
    "invalid_shipment_data": "Some shipping details are not valid. Please check the form.",
    # live shows: host controls and chat
    "show_error": "Something went wrong with this show. Please refresh the page.",
    "show_not_live": "This show is not live right now.",
    "product_not_found": "That product is not in this shop's catalog.",
    "nothing_pinned": "No product is pinned on this show yet.",
    "invalid_show_data": "Some show details are not valid. Please check the form.",
    "not_host": "Only the show's host team can do that.",
    "chat_error": "Your message could not be sent. Please try again.",
    "chat_message_invalid": "Please write a message before sending.",
    "chat_message_too_long": "That message is too long: keep it under 300 characters.",
    "chat_markup_refused": "Messages are plain text: HTML and scripts are not allowed.",
    "chat_rate_limited": "You are sending messages too quickly. Wait a few seconds and try again.",
    "chat_muted": "The host has muted you in this chat.",
    "chat_closed": "Chat is closed for this show.",
    "message_not_found": "That message no longer exists.",
    # payments
    "order_not_payable": "This order cannot be paid any more (it is already paid or was cancelled).",
    "stripe_unavailable": "The payment service is not answering. Please try again in a moment.",
    "stripe_rejected": "The payment was refused. Please try another card.",
    "refund_not_allowed": "This order cannot be refunded.",
    "demo_disabled": "Demo payments are turned off on this site.",
    "payments_error": "The payment could not be completed.",
    "card_declined": "Your card was declined. Please try another card.",
    # chain, wallets, NFTs
    "siwe_invalid": "The wallet signature could not be verified. Please sign the new message again.",
    "wallet_conflict": "This wallet is already linked to another account.",
    "claim_not_allowed": "This NFT cannot be claimed to your wallet right now.",
    "token_not_found": "We could not find that token.",
    "invalid_address": "That is not a valid Ethereum address.",
    "unknown_collection": "This NFT collection is not known here.",
    "chain_unavailable": "The blockchain node is not answering. Please try again shortly.",
    "chain_rejected": "The blockchain rejected the transaction.",
    "fee_cap_exceeded": "Network fees are unusually high right now; we will retry automatically.",
    "mint_conflict": "This token is already being minted.",
    "signer_not_configured": "Minting is not configured on this server.",
    "nft_error": "Something went wrong with the NFT.",
    "call_reverted": "The contract refused that call. Refresh to see the token's current state.",
    # phygital redemption
    "not_redeemable": "This token cannot be redeemed for a physical item.",
    "already_redeemed": "This token was already redeemed: its physical item is on its way or delivered.",
    "not_token_owner": "Only the token's current owner can redeem it.",
    "redemption_not_found": "We could not find that redemption.",
    "redemption_tx_invalid": "That transaction is not a redemption of this token from your wallet.",
    # generic API and platform
    "validation_error": "Some fields are not valid. Please check them.",
    "malformed_request": "The request could not be read. Please reload the page.",
    "not_authenticated": "Please log in to continue.",
    "unauthenticated": "Please log in to continue.",
    "permission_denied": "You are not allowed to do that.",
    "forbidden": "You are not allowed to do that.",
    "method_not_allowed": "That action is not available here.",
    "unsupported_media_type": "The request could not be read. Please reload the page.",
    "not_acceptable": "The request could not be read. Please reload the page.",
    "throttled": "Too many requests — please slow down and try again in a few seconds.",
    "conflict": "Someone changed this at the same time. Refresh and try again.",
    "dependency_unavailable": "A service we depend on is not answering. Please try again shortly.",
    "internal_error": "Something went wrong on our side. Please try again.",
    "network_error": "We could not reach the server. Check your connection and try again.",
}


def friendly(code: str, fallback: str = "") -> str:
    """The text to show for an error code."""
    return ERROR_MESSAGES.get(code) or fallback or "Something went wrong. Please try again."
