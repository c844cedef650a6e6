"""`solbot sandbox`: a mainnet-shaped local world (Solana JSON-RPC and PubSub on LiteSVM, Jupiter- and
Jito-shaped HTTP APIs, pools, faults on demand) that the bot and the tests trade against."""
