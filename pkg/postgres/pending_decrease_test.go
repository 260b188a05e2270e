package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPendingDecreaseQueryNamesEverySetting(t *testing.T) {
	for _, name := range StandbyCheckedSettings {
		assert.Contains(t, pendingDecreaseQuery, "'"+name+"'")
	}
}
