"""Real shoots: card-split cameras joined, every source placed on the timeline by its sound."""
