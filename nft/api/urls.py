from django.urls import URLPattern, URLResolver, path

from nft.api import activity, redemptions, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("nft/gas-price", views.GasPriceView.as_view(), name="nft-gas-price"),
    path(
        "nft/addresses/<str:address>/balance", views.AddressBalanceView.as_view(), name="nft-address-balance"
    ),
    path("nft/addresses/<str:address>/tokens", views.OwnerTokensView.as_view(), name="nft-owner-tokens"),
    path(
        "nft/tokens/<int:chain_id>/<str:contract>/<str:token_id>", views.TokenView.as_view(), name="nft-token"
    ),
    path("nft/transactions/<str:tx_hash>", views.TransactionView.as_view(), name="nft-transaction"),
    path("nft/wallets", views.WalletsView.as_view(), name="nft-wallets"),
    path(
        "nft/wallets/<str:address>/activity",
        activity.WalletActivityView.as_view(),
        name="nft-wallet-activity",
    ),
    path("nft/wallets/custodial", views.CustodialWalletView.as_view(), name="nft-custodial-wallet"),
    path("nft/siwe/nonce", views.SiweNonceView.as_view(), name="nft-siwe-nonce"),
    path("nft/siwe/verify", views.SiweVerifyView.as_view(), name="nft-siwe-verify"),
    path("nft/claims", views.ClaimsView.as_view(), name="nft-claims"),
    path("nft/claims/<int:claim_id>", views.ClaimView.as_view(), name="nft-claim"),
    path("nft/redemptions", redemptions.RedemptionsView.as_view(), name="nft-redemptions"),
    path("nft/redemptions/<int:redemption_id>", redemptions.RedemptionView.as_view(), name="nft-redemption"),
    path(
        "nft/redemptions/<int:redemption_id>/tx",
        redemptions.RedemptionTxView.as_view(),
        name="nft-redemption-tx",
    ),
]
