"""The bottom layer: the vocabulary every other layer shares. It imports no other layer of
stacklab but the error tree and the state journal."""
