package graphapi_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every client, credential and fake server a test starts must be gone when it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
