"""Bot and abuse defences: throttles, identity limits at payment, velocity flags, merchant blocks.

Hooked into the rest of the code with one line each (see README "Bot and abuse defences"): the
throttle classes on the sign-up / token / reserve views and the log-in page, `check_not_blocked` in
`reserve_stock`, `card_facts` in the Stripe webhook intake and `refuse_over_identity_limits` in the
saga's payment-succeeded step.
"""
