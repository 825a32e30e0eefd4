package redisstore

// ScriptLog names the scripts a store's client runs (see scriptLog).
type ScriptLog = scriptLog

// NewScriptLog adds a ScriptLog to the client of s.
func NewScriptLog(s *Store) *ScriptLog { return newScriptLog(s) }

// Run returns the names of the scripts fn ran (update, apply, index,
// create), joined by spaces.
func (l *ScriptLog) Run(fn func()) string { return l.run(fn) }
