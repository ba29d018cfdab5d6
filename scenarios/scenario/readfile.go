package scenario

import (
	"fmt"
	"io"
	"os"
)

// maxFileSize bounds a scenario or topology file: files are read whole, so a path naming
// a device or a huge file (topologyFile: /dev/zero) must not hang or exhaust the loader.
const maxFileSize = 4 << 20

// readFile reads a scenario or topology file: a regular file of at most maxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d MB", path, maxFileSize>>20)
	}
	return data, nil
}
