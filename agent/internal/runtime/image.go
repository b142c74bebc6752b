package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/hashicorp/go-hclog"
)

// Environment images.
//
// An environment is a base image plus the project's dependency files. The
// dependencies are installed into an image of their own, tagged by a hash of
// the base image ID and the files, so a deploy that changes only code reuses
// the image and never reinstalls; nothing is pip-installed when a container
// starts.

const (
	// EnvImageRepo is the repository of every environment image.
	EnvImageRepo = "runtime-env"
	// DepsDir is where the dependency files land inside the image.
	DepsDir = "/opt/runtime/deps"
	// RequirementsFile is the one dependency file the install step reads.
	RequirementsFile = "requirements.txt"

	// envRecipeVersion is part of every tag's hash: change it when the
	// Dockerfile below changes, so old images are not reused for the new
	// recipe.
	envRecipeVersion = "runtime-env/v1"

	buildTailLines = 20
)

// EnsureEnvImage returns the image to run for base plus dependency files
// (file name → content, names without directories).
//
// With no files it returns base itself after checking that it is on the host.
// Otherwise it returns runtime-env:<hash>, building it with the classic
// builder (BuildKit is not available on every engine) unless it already
// exists; built reports whether a build ran. Base images are never pulled:
// a missing one yields an error matching ErrImageNotFound.
func (r *Runtime) EnsureEnvImage(ctx context.Context, base string, files map[string][]byte) (string, bool, error) {
	if strings.TrimSpace(base) == "" || strings.ContainsAny(base, " \t\r\n") {
		return "", false, fmt.Errorf("invalid base image name %q", base)
	}
	baseImg, err := r.docker.ImageInspect(ctx, base)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", false, &imageNotFoundError{image: base}
		}
		return "", false, fmt.Errorf("inspect base image %s: %w", base, err)
	}
	if len(files) == 0 {
		return base, false, nil
	}
	if err := checkDepFiles(files); err != nil {
		return "", false, err
	}
	hash := envHash(baseImg.ID, files)
	tag := EnvImageRepo + ":" + hash

	if ok, err := r.imageExists(ctx, tag); err != nil || ok {
		return tag, false, err
	}

	r.buildMu.Lock()
	defer r.buildMu.Unlock()
	// Another caller may have built it while this one waited.
	if ok, err := r.imageExists(ctx, tag); err != nil || ok {
		return tag, false, err
	}

	log := r.log.With("image", tag, "base", base)
	log.Info("building environment image", "files", strings.Join(slices.Sorted(maps.Keys(files)), ","))
	start := time.Now()
	if err := r.buildEnvImage(ctx, log, base, baseImg.ID, hash, tag, files); err != nil {
		return "", false, err
	}
	log.Info("built environment image", "duration", time.Since(start).Round(time.Millisecond))
	return tag, true, nil
}

func (r *Runtime) imageExists(ctx context.Context, ref string) (bool, error) {
	_, err := r.docker.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("inspect image %s: %w", ref, err)
	}
}

// checkDepFiles rejects names that could escape the deps directory and a
// set without requirements.txt, the only file the install step reads today.
func checkDepFiles(files map[string][]byte) error {
	for name := range files {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") {
			return fmt.Errorf("invalid dependency file name %q: want a plain file name such as %s", name, RequirementsFile)
		}
	}
	if _, ok := files[RequirementsFile]; !ok {
		return fmt.Errorf("dependency files %s lack %s, the file environment images install from", strings.Join(slices.Sorted(maps.Keys(files)), ", "), RequirementsFile)
	}
	return nil
}

// envHash names an environment image. The base image's ID (not its tag)
// goes in, so rebuilding or re-pulling the base yields a new environment.
// Lengths frame every part so that no two inputs hash alike.
func envHash(baseID string, files map[string][]byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", envRecipeVersion, baseID)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%d:%s\n%d:", len(name), name, len(files[name]))
		h.Write(files[name])
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// envDockerfile renders the recipe. FROM names the base by ID so the image
// built is the one hashed, even if the base tag moves meanwhile. All labels
// are set in one LABEL before COPY: intermediate images of a failed build
// carry them too and can be found and pruned, and the classic builder's
// build-time labels would add one more layer per label. RUN uses the exec
// form: images need not have a shell.
func envDockerfile(base, baseID, hash string) string {
	return fmt.Sprintf(`FROM %s
LABEL %s="true" %s="%s" %s=%s
COPY deps/ %s/
RUN ["pip", "install", "--no-cache-dir", "-r", "%s/%s"]
`, baseID, LabelManaged, LabelEnvHash, hash, LabelEnvBase, dockerfileQuote(base), DepsDir, DepsDir, RequirementsFile)
}

// dockerfileQuote quotes a LABEL value for the Dockerfile parser.
func dockerfileQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// envBuildContext builds the tar build context in memory: dependency files
// are small. Fixed times and owners keep the builder's cache effective.
func envBuildContext(dockerfile string, files map[string][]byte) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	add := func(name string, mode int64, typ byte, body []byte) error {
		hdr := &tar.Header{Name: name, Mode: mode, Typeflag: typ, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if err := add("Dockerfile", 0o644, tar.TypeReg, []byte(dockerfile)); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	if err := add("deps/", 0o755, tar.TypeDir, nil); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := add("deps/"+name, 0o644, tar.TypeReg, files[name]); err != nil {
			return nil, fmt.Errorf("write build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("write build context: %w", err)
	}
	return &buf, nil
}

func (r *Runtime) buildEnvImage(ctx context.Context, log hclog.Logger, base, baseID, hash, tag string, files map[string][]byte) error {
	buildCtx, err := envBuildContext(envDockerfile(base, baseID, hash), files)
	if err != nil {
		return err
	}
	resp, err := r.docker.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{tag},
		Dockerfile:  "Dockerfile",
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Version:     build.BuilderV1,
	})
	if err != nil {
		return fmt.Errorf("build environment image %s from %s: %w", tag, base, err)
	}
	defer resp.Body.Close()

	out := &tailBuffer{max: buildTailLines}
	buildErr, err := readBuildOutput(resp.Body, func(line string) {
		log.Debug("build output", "line", line)
		out.add(line)
		buildLog(ctx, line)
	})
	if err != nil {
		return fmt.Errorf("build environment image %s from %s: read build output: %w%s", tag, base, err, out.suffix())
	}
	if buildErr != "" {
		return fmt.Errorf("build environment image %s from %s: %s%s", tag, base, buildErr, out.suffix())
	}
	if ok, err := r.imageExists(ctx, tag); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("build environment image %s from %s: the build finished but the image is missing%s", tag, base, out.suffix())
	}
	return nil
}

// buildMessage is one line of the Engine's JSON build stream.
type buildMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readBuildOutput consumes the build stream, handing each output line to
// onLine, and returns the build's own error message if it failed.
func readBuildOutput(r io.Reader, onLine func(string)) (string, error) {
	dec := json.NewDecoder(r)
	var partial string
	var buildErr string
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return buildErr, err
		}
		text := m.Stream
		if text == "" && m.Status != "" {
			text = m.Status + "\n"
		}
		if text != "" {
			lines := strings.Split(partial+text, "\n")
			partial = lines[len(lines)-1]
			for _, l := range lines[:len(lines)-1] {
				if l = strings.TrimRight(l, "\r"); strings.TrimSpace(l) != "" {
					onLine(l)
				}
			}
		}
		if m.Error != "" || m.ErrorDetail != nil {
			buildErr = m.Error
			if buildErr == "" {
				buildErr = m.ErrorDetail.Message
			}
		}
	}
	if strings.TrimSpace(partial) != "" {
		onLine(strings.TrimRight(partial, "\r"))
	}
	return buildErr, nil
}

// tailBuffer keeps the last max lines.
type tailBuffer struct {
	max   int
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// suffix formats the tail for the end of an error message.
func (t *tailBuffer) suffix() string {
	if len(t.lines) == 0 {
		return ""
	}
	return "\nlast " + strconv.Itoa(len(t.lines)) + " lines of build output:\n" + strings.Join(t.lines, "\n")
}

type buildLogKey struct{}

// WithBuildLog returns a context whose image builds also write their output
// to w, one line at a time, so the caller can keep it with the deploy.
func WithBuildLog(ctx context.Context, w io.Writer) context.Context {
	return context.WithValue(ctx, buildLogKey{}, w)
}

func buildLog(ctx context.Context, line string) {
	if w, ok := ctx.Value(buildLogKey{}).(io.Writer); ok {
		io.WriteString(w, line+"\n")
	}
}
