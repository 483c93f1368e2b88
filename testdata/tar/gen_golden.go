//go:build ignore

// gen_golden writes testdata/tar/golden.json: the exact bytes Go's archive/tar Writer emits
// for a list of headers, which tests/tar_test.ts compares lib/tar.ts against.
//
// It is run by hand (not in CI). To regenerate, from the repository root:
//
//	apt-get install -y golang-go   # Debian's Go (1.19) is enough
//	go run testdata/tar/gen_golden.go > testdata/tar/golden.json
//
// Every header is Header{Name, Mode, Size, Typeflag} with all other fields zero and no
// Format, which is how containerd's exporter calls WriteHeader. For each case the file holds
// name, mode, size and typeflag, and:
//   - header: the bytes WriteHeader wrote (a USTAR block, or a PAX extended header, its
//     records and padding, then the main block), in packed hex (see pack);
//   - archive (for a few small sizes): packed hex of the whole archive after writing the body
//     (byte i of the body is byte(i)) and calling Close;
//   - error: the error WriteHeader returned, for headers Go refuses (no bytes then).
package main

import (
	"archive/tar"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
)

type entry struct {
	Name     string `json:"name"`
	Mode     int64  `json:"mode"`
	Size     int64  `json:"size"`
	Typeflag string `json:"typeflag"`
	Header   string `json:"header,omitempty"`
	Archive  string `json:"archive,omitempty"`
	Error    string `json:"error,omitempty"`
}

const (
	gib             = int64(1) << 30
	maxSafeInt      = int64(1)<<53 - 1
	sha256Hex       = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sha512Hex       = sha256Hex + "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	blob256         = "blobs/sha256/" + sha256Hex
	blob512         = "blobs/sha512/" + sha512Hex
	regular    byte = tar.TypeReg
	dir        byte = tar.TypeDir
)

func rep(s string, n int) string { return strings.Repeat(s, n) }

type tc struct {
	name string
	mode int64
	size int64
	flag byte
	body bool // write the body and Close, and record the whole archive
}

func cases() []tc {
	var c []tc
	add := func(name string, mode, size int64, flag byte) {
		c = append(c, tc{name, mode, size, flag, false})
	}
	addBody := func(name string, mode, size int64, flag byte) {
		c = append(c, tc{name, mode, size, flag, true})
	}

	// The names and modes an OCI archive uses.
	addBody("oci-layout", 0o444, 30, regular)
	addBody("index.json", 0o644, 300, regular)
	add("manifest.json", 0o644, 0, regular)
	addBody("blobs/", 0o755, 0, dir)
	add("blobs/sha256/", 0o755, 0, dir)
	add("blobs/sha512/", 0o755, 0, dir)

	// Sizes around block boundaries and the 8 GiB octal limit.
	for _, s := range []int64{0, 1, 511, 512, 513} {
		addBody(blob256, 0o444, s, regular)
	}
	for _, s := range []int64{1024, 8*gib - 1, 8 * gib, 8*gib + 1, 1 << 40, maxSafeInt} {
		add(blob256, 0o444, s, regular)
	}
	// The 141-byte sha512 name: too long for USTAR and not splittable (suffix of 128 bytes).
	for _, s := range []int64{0, 1, 513} {
		addBody(blob512, 0o444, s, regular)
	}
	for _, s := range []int64{8*gib - 1, 8 * gib, maxSafeInt} {
		add(blob512, 0o444, s, regular)
	}

	// Modes.
	add("a", 0, 5, regular)
	add("b", 0o444, 5, regular)
	add("c", 0o644, 5, regular)
	add("d", 0o7777777, 0, regular)
	add("e/", 0o755, 0, dir)
	add("", 0o644, 0, regular)

	// Name lengths: 99, 100 (fits the name field), 101..257 (split or PAX).
	add(rep("n", 99), 0o444, 1, regular)
	add(rep("n", 100), 0o444, 1, regular)
	add(rep("n", 99)+"/", 0o755, 0, dir)
	add(rep("n", 100)+"/", 0o755, 0, dir)                                   // 101 bytes, trailing slash: not splittable
	add(rep("n", 101), 0o444, 1, regular)                                   // no slash at all
	add("/"+rep("n", 100), 0o444, 1, regular)                               // slash at 0: empty prefix not allowed
	add("p/"+rep("n", 99), 0o444, 1, regular)                               // 101 bytes, split p | n*99
	add("p/"+rep("n", 100), 0o444, 1, regular)                              // 102 bytes, split p | n*100
	add("p/"+rep("n", 101), 0o444, 1, regular)                              // suffix 101: PAX
	add(rep("p", 155)+"/"+rep("n", 100), 0o444, 1, regular)                 // 256: largest splittable
	add(rep("p", 156)+"/"+rep("n", 99), 0o444, 1, regular)                  // prefix 156: PAX
	add(rep("p", 154)+"/"+rep("n", 100), 0o444, 1, regular)                 // 255
	add(rep("p", 100)+"/"+rep("n", 54), 0o444, 1, regular)                  // 155
	add(rep("p", 60)+"/"+rep("q", 60)+"/"+rep("n", 60), 0o444, 1, regular)  // split at the last fitting slash
	add(rep("p", 60)+"/"+rep("q", 100)+"/"+rep("n", 90), 0o444, 1, regular) // last slash past 156: PAX
	add(rep("p", 120)+"/"+rep("n", 30)+"/", 0o755, 0, dir)                  // directory, split keeps the trailing slash
	add(rep("p", 155)+"/"+rep("n", 99)+"/", 0o755, 0, dir)                  // 256 with trailing slash
	add(rep("/", 101), 0o755, 0, dir)
	add(rep("/", 130), 0o755, 0, dir)
	add("blobs/sha256/"+rep("0", 100), 0o444, 1, regular)
	add("blobs/sha384/"+rep("0", 96), 0o444, 1, regular)

	// The V7 name field's trailing-slash quirk in a PAX main header.
	add(rep("a", 99)+"/"+rep("b", 101), 0o444, 1, regular)
	add(rep("a", 98)+"//"+rep("b", 101), 0o444, 1, regular)
	add(rep("a", 97)+"///"+rep("b", 101), 0o444, 1, regular)
	add(rep("a", 99)+"/"+rep("b", 101)+"/", 0o755, 0, dir)

	// path.Join cleaning of the extended header's name.
	add("./"+rep("x", 120), 0o444, 1, regular)
	add("../"+rep("x", 120), 0o444, 1, regular)
	add("a/../"+rep("x", 120), 0o444, 1, regular)
	add("blobs//"+rep("x", 120), 0o444, 1, regular)
	add("a/./b/"+rep("x", 120), 0o444, 1, regular)
	add(rep("d", 90)+"/"+rep("x", 120), 0o444, 1, regular)
	add(rep("x", 120)+"/", 0o755, 0, dir)

	// Non-ASCII names: always PAX; the ASCII-only names drop the other characters.
	add("blobs/é.txt", 0o444, 1, regular)
	add("é", 0o444, 0, regular)
	add("dïr/", 0o755, 0, dir)
	add("日本/語", 0o644, 3, regular)
	add(rep("ü", 60), 0o444, 1, regular)
	add("p/"+rep("ü", 60), 0o444, 1, regular)
	add("😀/"+rep("x", 110), 0o444, 1, regular)
	// PAX record lengths around a change in the number of digits of the record's length.
	for _, n := range []int{88, 89, 90, 91} {
		add("é"+rep("a", n), 0o444, 1, regular)
	}
	for _, n := range []int{987, 988} {
		add("é"+rep("a", n), 0o444, 0, regular)
	}

	// Both a name that needs PAX and a size of 8 GiB or more.
	add(blob512, 0o444, 1<<40, regular)
	add(rep("n", 101), 0o444, 8*gib, regular)
	add("é", 0o444, 8*gib, regular)
	// A splittable name with a size that needs PAX: Go records the path too.
	add("p/"+rep("n", 100), 0o444, 8*gib, regular)
	add(rep("p", 155)+"/"+rep("n", 100), 0o444, maxSafeInt, regular)
	// Short and 100-byte names with a big size.
	add("big", 0o444, 8*gib, regular)
	add(rep("n", 100), 0o444, 8*gib, regular)
	add("blobs/", 0o755, 8*gib, dir)
	// Directories with a (meaningless) size: it is written, and no body follows.
	addBody("sized/", 0o755, 5, dir)

	// Headers Go refuses.
	add("file/", 0o644, 0, regular)
	add(rep("n", 120)+"/", 0o644, 0, regular)
	return c
}

// pack writes b as lowercase hex, except that each run of 8 or more zero bytes is written as
// "(N)" with N the run's length in decimal; this keeps the mostly-zero headers small.
func pack(b []byte) string {
	var sb strings.Builder
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] == 0 {
			j++
		}
		if j-i >= 8 {
			fmt.Fprintf(&sb, "(%d)", j-i)
			i = j
			continue
		}
		sb.WriteString(hex.EncodeToString(b[i : i+1]))
		i++
	}
	return sb.String()
}

func run(c tc) entry {
	e := entry{Name: c.name, Mode: c.mode, Size: c.size, Typeflag: string(c.flag)}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Name: c.name, Mode: c.mode, Size: c.size, Typeflag: c.flag}
	if err := tw.WriteHeader(hdr); err != nil {
		e.Error = err.Error()
		return e
	}
	e.Header = pack(buf.Bytes())
	if c.body {
		if c.flag == regular {
			body := make([]byte, c.size)
			for i := range body {
				body[i] = byte(i)
			}
			if _, err := tw.Write(body); err != nil {
				panic(err)
			}
		}
		if err := tw.Close(); err != nil {
			panic(err)
		}
		e.Archive = pack(buf.Bytes())
	}
	return e
}

func main() {
	var golden struct {
		Go      string  `json:"go"`
		Entries []entry `json:"entries"`
	}
	golden.Go = runtime.Version()
	for _, c := range cases() {
		golden.Entries = append(golden.Entries, run(c))
	}
	// Indented as deno fmt formats JSON, so that `deno fmt --check` leaves the file alone.
	b, err := json.MarshalIndent(golden, "", "  ")
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(append(b, '\n'))
}
