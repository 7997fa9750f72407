"""Who is calling: staff passwords, residents' SMS codes, partners' API keys, and the tokens they get."""
