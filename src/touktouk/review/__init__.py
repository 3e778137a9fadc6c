"""The producer's decisions (word fixes, drops, titles) and the one function that applies them."""
