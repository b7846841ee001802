"""The sandbox's own models of the peers it fakes, one module per peer, written from
the contract (section 5) and not shared with the processors' clients: a mistake in
our model of a peer then shows as a failing call instead of hiding on both sides."""
