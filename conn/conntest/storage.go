package conntest

import (
	"encoding/json"
	"fmt"
	"sync"

	"tether/conn"
)

// Storage keeps the snapshot as JSON, as localStorage would.
type Storage struct {
	mu      sync.Mutex
	data    []byte
	saves   int
	loadErr error
	saveErr error
}

var _ conn.Storage = (*Storage)(nil)

// NewStorage returns an empty storage.
func NewStorage() *Storage { return &Storage{} }

// Load returns the saved snapshot (empty when nothing was saved).
func (s *Storage) Load() (conn.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return conn.Snapshot{}, s.loadErr
	}
	var snap conn.Snapshot
	if s.data == nil {
		return snap, nil
	}
	if err := json.Unmarshal(s.data, &snap); err != nil {
		return conn.Snapshot{}, fmt.Errorf("failed to read the snapshot: %w", err)
	}
	return snap, nil
}

// Save stores snap.
func (s *Storage) Save(snap conn.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saveErr != nil {
		return s.saveErr
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("failed to write the snapshot: %w", err)
	}
	s.data = data
	return nil
}

// Put stores snap as if a previous session saved it.
func (s *Storage) Put(snap conn.Snapshot) {
	s.mu.Lock()
	saves := s.saves
	s.mu.Unlock()
	_ = s.Save(snap)
	s.mu.Lock()
	s.saves = saves
	s.mu.Unlock()
}

// Snapshot returns what is stored.
func (s *Storage) Snapshot() conn.Snapshot {
	snap, _ := s.Load()
	return snap
}

// Saves is how many times Save was called.
func (s *Storage) Saves() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves
}

// Fail makes Load and Save fail with these errors (nil: work again).
func (s *Storage) Fail(load, save error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loadErr, s.saveErr = load, save
}
