package main

import (
	"context"
	"errors"
)

func (c cli) invoke(ctx context.Context, args []string) error {
	return errors.New("invoke: not yet")
}
