package testkube

import (
	"os"
	"regexp"
	"strings"
)

var yamlFence = regexp.MustCompile("(?ms)^[ \t]*```yaml\n(.*?)^[ \t]*```")

// YAMLBlocks returns a Markdown file's ```yaml blocks, unindented (a block
// inside a list item is indented with it).
func YAMLBlocks(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range yamlFence.FindAllStringSubmatch(string(raw), -1) {
		lines := strings.Split(m[1], "\n")
		indent := strings.Repeat(" ", len(lines[0])-len(strings.TrimLeft(lines[0], " ")))
		for i, l := range lines {
			lines[i] = strings.TrimPrefix(l, indent)
		}
		out = append(out, strings.Join(lines, "\n"))
	}
	return out, nil
}
