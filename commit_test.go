package sesame

import "testing"

// TestPlanCommit decides every commit from the session's state alone: the
// rules of planCommit, including the races between requests that share a
// cookie.
func TestPlanCommit(t *testing.T) {
	tests := []struct {
		name string
		st   commitState
		want commitPlan
	}{
		{"an untouched request does nothing and sends no cookie",
			commitState{}, commitPlan{}},
		{"an untouched request does nothing even with a dirty flag (impossible, but safe)",
			commitState{Dirty: true, HasData: true}, commitPlan{}},
		{"a read of a new session stores nothing",
			commitState{Touched: true}, commitPlan{}},
		{"a put on a new session creates it and sets the cookie",
			commitState{Touched: true, Dirty: true, HasData: true}, commitPlan{Create: true, SetCookie: true}},
		{"a put then forget on a new session stores nothing",
			commitState{Touched: true, Dirty: true}, commitPlan{}},
		{"a read of a stored session whose touch is not due does nothing",
			commitState{Touched: true, Stored: true, HasData: true}, commitPlan{}},
		{"a read of a stored session whose touch is due touches it, without a cookie",
			commitState{Touched: true, Stored: true, HasData: true, TouchDue: true}, commitPlan{Touch: true}},
		{"a write to a stored session applies the change set, without a cookie",
			commitState{Touched: true, Stored: true, Dirty: true, HasData: true, TouchDue: true}, commitPlan{Apply: true}},
		{"login: regenerate a stored session creates the new ID first, retires the old, sets the cookie",
			commitState{Touched: true, Stored: true, Retire: true, Regenerated: true, Dirty: true, HasData: true},
			commitPlan{Retire: true, Create: true, SetCookie: true}},
		{"regenerate of an empty stored session still moves it",
			commitState{Touched: true, Stored: true, Retire: true, Regenerated: true, Dirty: true},
			commitPlan{Retire: true, Create: true, SetCookie: true}},
		{"regenerate of a new session with data creates it",
			commitState{Touched: true, Regenerated: true, Dirty: true, HasData: true},
			commitPlan{Create: true, SetCookie: true}},
		{"regenerate of a new empty session stores nothing",
			commitState{Touched: true, Regenerated: true, Dirty: true}, commitPlan{}},
		{"login on a request whose cookie names a tombstone starts a session",
			commitState{Touched: true, Gone: true, Regenerated: true, Dirty: true, HasData: true},
			commitPlan{Create: true, SetCookie: true}},
		{"logout retires the record and clears the cookie",
			commitState{Touched: true, Retire: true, Destroyed: true, Dirty: true},
			commitPlan{Retire: true, ClearCookie: true}},
		{"logout with a flash retires the record and starts a new session",
			commitState{Touched: true, Retire: true, Destroyed: true, Dirty: true, HasData: true},
			commitPlan{Retire: true, Create: true, SetCookie: true}},
		{"Destroy on a request without a session clears the cookie it asked to clear",
			commitState{Touched: true, Destroyed: true, Dirty: true}, commitPlan{ClearCookie: true}},
		{"Destroy then Regenerate: a new session, the old retired",
			commitState{Touched: true, Retire: true, Destroyed: true, Regenerated: true, Dirty: true, HasData: true},
			commitPlan{Retire: true, Create: true, SetCookie: true}},
		{"Destroy after a failed load deletes what the cookie named and clears the cookie",
			commitState{Touched: true, Destroyed: true, Dirty: true, DropKeys: true},
			commitPlan{DropKeys: true, ClearCookie: true}},
		{"race: a poll with the pre-login cookie (a tombstone) sends nothing",
			commitState{Touched: true, Gone: true}, commitPlan{}},
		{"race: a write with the pre-login cookie (a tombstone) is dropped, without a cookie",
			commitState{Touched: true, Gone: true, Dirty: true, HasData: true}, commitPlan{Lost: true}},
		{"race: a read with an expired ID deletes the record and sends no cookie",
			commitState{Touched: true, DropKeys: true}, commitPlan{DropKeys: true}},
		{"race: a write with an expired ID starts a new session",
			commitState{Touched: true, Dirty: true, HasData: true, DropKeys: true},
			commitPlan{DropKeys: true, Create: true, SetCookie: true}},
		{"race: a read with an unknown ID never clears the cookie",
			commitState{Touched: true}, commitPlan{}},
		{"race: a slow write loaded before logout applies (and the store refuses it), no cookie",
			commitState{Touched: true, Stored: true, Dirty: true, HasData: true}, commitPlan{Apply: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planCommit(tt.st)
			if got != tt.want {
				t.Errorf("planCommit(%+v)\n got %+v\nwant %+v", tt.st, got, tt.want)
			}
			if got.SetCookie && got.ClearCookie {
				t.Errorf("the plan both sets and clears the cookie")
			}
			if (got.SetCookie || got.ClearCookie) && !(tt.st.Destroyed || tt.st.Regenerated || got.Create) {
				t.Errorf("the plan changes the cookie of a request that neither destroyed, regenerated nor created a session")
			}
		})
	}
}
