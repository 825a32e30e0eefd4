module github.com/sesamego/sesame/admin

go 1.25.0

require github.com/sesamego/sesame v0.0.0

require (
	golang.org/x/crypto v0.55.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/sesamego/sesame => ..
