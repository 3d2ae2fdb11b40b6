"""Use cases of auctions (setup, bidding, closing and checkout) and giveaways."""
