package seal_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/sesamego/sesame/seal"
)

func ExampleKeyring_Sign() {
	// In an application the secret comes from configuration; see ParseSecrets.
	keys, err := seal.NewKeyring(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		log.Fatal(err)
	}
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	v := keys.Sign("user", []byte("42"), expires)
	fmt.Println(v)

	msg, info, err := keys.Verify("user", v)
	fmt.Println(string(msg), info.Expires, err)

	// The same value does not open for another purpose, or once changed.
	_, _, err = keys.Verify("admin", v)
	fmt.Println(errors.Is(err, seal.ErrInvalid))
	_, _, err = keys.Verify("user", v[:20]+"x"+v[21:])
	fmt.Println(errors.Is(err, seal.ErrInvalid))
	// Output:
	// EaIo97iAse-GBzQy8T9u9KpVnRVmBMSWMbrlIUHkEdd3s6WnohXbbme68mc
	// 42 2030-01-01 00:00:00 +0000 UTC <nil>
	// true
	// true
}

func ExampleKeyring_Encrypt() {
	keys, err := seal.NewKeyring(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		log.Fatal(err)
	}
	v, err := keys.Encrypt("card", []byte("4242 4242 4242 4242"), time.Now().Add(time.Hour))
	if err != nil {
		log.Fatal(err)
	}
	msg, _, err := keys.Decrypt("card", v)
	fmt.Println(string(msg), err)

	// A signed value is not an encrypted one, and the reverse.
	_, _, err = keys.Verify("card", v)
	fmt.Println(err)
	// Output:
	// 4242 4242 4242 4242 <nil>
	// seal: invalid value
}

func ExampleNewKeyring_rotation() {
	oldSecret := bytes.Repeat([]byte("o"), 32)
	newSecret := bytes.Repeat([]byte("n"), 32)

	before, _ := seal.NewKeyring(oldSecret)
	v := before.Sign("user", []byte("42"), time.Time{})

	// Rotate: the new secret first, the old one after it.
	after, _ := seal.NewKeyring(newSecret, oldSecret)
	msg, info, err := after.Verify("user", v)
	fmt.Println(string(msg), info.Stale, err)
	if info.Stale {
		v = after.Sign("user", msg, info.Expires) // re-seal under the new key
	}

	// Once the old secret is gone, only re-sealed values open.
	retired, _ := seal.NewKeyring(newSecret)
	_, info, err = retired.Verify("user", v)
	fmt.Println(info.Stale, err)
	// Output:
	// 42 true <nil>
	// false <nil>
}

func ExampleParseSecrets() {
	// Generate a secret once, for example with a small command that prints
	// seal.GenerateSecret(), and keep it in the environment:
	//	APP_SECRETS=<new>,<old>
	newest, _ := seal.GenerateSecret()
	older, _ := seal.GenerateSecret()
	keys, err := seal.ParseSecrets(newest + "," + older)
	fmt.Println(keys != nil, err)

	_, err = seal.ParseSecrets("c2hvcnQ") // "short"
	fmt.Println(err)
	// Output:
	// true <nil>
	// seal: secret 1 of 1 is 5 bytes, want at least 32
}

func ExampleVerifyJSON() {
	keys, _ := seal.NewKeyring(bytes.Repeat([]byte("k"), 32))
	type prefs struct {
		Theme string `json:"theme"`
		Lang  string `json:"lang"`
	}
	v, err := seal.SignJSON(keys, "prefs", prefs{Theme: "dark", Lang: "fr"}, time.Time{})
	if err != nil {
		log.Fatal(err)
	}
	p, _, err := seal.VerifyJSON[prefs](keys, "prefs", v)
	fmt.Printf("%+v %v\n", p, err)
	// Output:
	// {Theme:dark Lang:fr} <nil>
}
