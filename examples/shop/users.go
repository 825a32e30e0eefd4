package main

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// A user is a demo account. Its ID is what the session and the remember-me
// tokens record (sesame's Session.SetUser), so it must be stable; the email
// is only for display and login.
type user struct {
	ID    string
	Email string
	Name  string
	// Admin lets the user into the session dashboard at /admin/.
	Admin bool
	hash  []byte // bcrypt
}

// demoUsers are the accounts of the demo, with their passwords in clear
// text; newUserDB hashes them at startup and forgets the clear text.
var demoUsers = []struct {
	id, email, name, password string
	admin                     bool
}{
	{"1", "alice@example.com", "Alice", "wonderland", true},
	{"2", "bob@example.com", "Bob", "builder", false},
}

// userDB is the demo's user table. It is read-only after newUserDB, so it
// is safe for concurrent use.
type userDB struct {
	byEmail map[string]*user
	byID    map[string]*user
	dummy   []byte // a hash to compare against for unknown emails
}

// newUserDB hashes the demo passwords with bcrypt at the given cost (zero
// means bcrypt.DefaultCost).
func newUserDB(cost int) (*userDB, error) {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	db := &userDB{byEmail: map[string]*user{}, byID: map[string]*user{}}
	for _, d := range demoUsers {
		h, err := bcrypt.GenerateFromPassword([]byte(d.password), cost)
		if err != nil {
			return nil, fmt.Errorf("hashing the password of %s: %w", d.email, err)
		}
		u := &user{ID: d.id, Email: d.email, Name: d.name, Admin: d.admin, hash: h}
		db.byEmail[u.Email] = u
		db.byID[u.ID] = u
	}
	h, err := bcrypt.GenerateFromPassword([]byte("not a password of anybody"), cost)
	if err != nil {
		return nil, fmt.Errorf("hashing the dummy password: %w", err)
	}
	db.dummy = h
	return db, nil
}

// authenticate returns the user with that email and password. An unknown
// email costs a bcrypt comparison too, so response times do not tell which
// emails have accounts.
func (db *userDB) authenticate(email, password string) (*user, bool) {
	u := db.byEmail[strings.ToLower(strings.TrimSpace(email))]
	hash := db.dummy
	if u != nil {
		hash = u.hash
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if u == nil || err != nil {
		return nil, false
	}
	return u, true
}

// byUserID returns the user with that ID, or nil.
func (db *userDB) byUserID(id string) *user {
	if id == "" {
		return nil
	}
	return db.byID[id]
}
