"""Operations: what the reconciler finds after something went wrong, and what it does about it."""
