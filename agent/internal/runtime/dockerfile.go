package runtime

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
)

// AppImage describes an image built from a project's own Dockerfile.
type AppImage struct {
	Ref    string
	Port   int               // first EXPOSEd TCP port, 0 when none
	Labels map[string]string // the image's labels (io.runtimeops.health-path, …)
	// UID is the uid of the image's USER: 0 for root or none, -1 when it is
	// a name (resolving it would mean reading the image's /etc/passwd).
	UID int
}

// BuildLimits bound a build: one runaway Dockerfile must not take the host.
type BuildLimits struct {
	Timeout  time.Duration // default 20 minutes
	MemoryMB int64         // 0: unlimited
}

// BuildDockerfile builds contextDir with the Dockerfile at dockerfile
// (relative to contextDir) and tags it tag, unless tag exists already
// (release directories are immutable, so tag by commit).
func (r *Runtime) BuildDockerfile(ctx context.Context, contextDir, dockerfile, tag string, limits BuildLimits) (*AppImage, bool, error) {
	if ok, err := r.imageExists(ctx, tag); err != nil {
		return nil, false, err
	} else if ok {
		img, err := r.appImage(ctx, tag)
		return img, false, err
	}
	r.buildMu.Lock()
	defer r.buildMu.Unlock()
	if limits.Timeout == 0 {
		limits.Timeout = 20 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limits.Timeout)
	defer cancel()

	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(contextDir, pw)) }()
	opts := build.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: filepath.ToSlash(dockerfile), Remove: true, ForceRemove: true,
		Version: build.BuilderV1, Labels: map[string]string{LabelManaged: "true"},
	}
	if limits.MemoryMB > 0 {
		opts.Memory = limits.MemoryMB << 20
		opts.MemorySwap = opts.Memory
	}
	resp, err := r.docker.ImageBuild(ctx, pr, opts)
	if err != nil {
		pr.Close()
		return nil, false, fmt.Errorf("build %s: %w", dockerfile, err)
	}
	defer resp.Body.Close()
	out := &tailBuffer{max: buildTailLines}
	buildErr, err := readBuildOutput(resp.Body, func(line string) { out.add(line); buildLog(ctx, line) })
	if ctx.Err() == context.DeadlineExceeded {
		return nil, false, fmt.Errorf("build %s: took longer than %s%s", dockerfile, limits.Timeout, out.suffix())
	}
	if err != nil {
		return nil, false, fmt.Errorf("build %s: %w%s", dockerfile, err, out.suffix())
	}
	if buildErr != "" {
		return nil, false, fmt.Errorf("build %s: %s%s", dockerfile, buildErr, out.suffix())
	}
	img, err := r.appImage(ctx, tag)
	return img, true, err
}

func (r *Runtime) appImage(ctx context.Context, tag string) (*AppImage, error) {
	ii, err := r.docker.ImageInspect(ctx, tag)
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", tag, err)
	}
	img := &AppImage{Ref: tag, Labels: map[string]string{}}
	if ii.Config != nil {
		img.Labels = ii.Config.Labels
		img.UID = imageUID(ii.Config.User)
		var ports []int
		for p := range ii.Config.ExposedPorts {
			port, proto, _ := strings.Cut(p, "/")
			if proto == "" || proto == "tcp" {
				if n, err := strconv.Atoi(port); err == nil {
					ports = append(ports, n)
				}
			}
		}
		sort.Ints(ports)
		if len(ports) > 0 {
			img.Port = ports[0]
		}
	}
	return img, nil
}

// imageUID reads the uid of a Dockerfile USER ("1000", "1000:1000",
// "root", "app:app").
func imageUID(user string) int {
	name, _, _ := strings.Cut(user, ":")
	switch name {
	case "", "root":
		return 0
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n
	}
	return -1
}

// tarDir streams dir as a build context. Symlinks are sent as links (the
// builder does not follow them out of the context).
func tarDir(dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// RemoveRepository removes every tag of an image repository the agent built
// (a web app's images, when its project is deleted). Images still used by a
// container are left alone.
func (r *Runtime) RemoveRepository(ctx context.Context, repo string) error {
	list, err := r.docker.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", repo+":*"), filters.Arg("label", LabelManaged+"=true"))})
	if err != nil {
		return fmt.Errorf("list images of %s: %w", repo, err)
	}
	for _, img := range list {
		for _, tag := range img.RepoTags {
			if _, err := r.docker.ImageRemove(ctx, tag, image.RemoveOptions{PruneChildren: true}); err != nil && !cerrdefs.IsNotFound(err) {
				r.log.Warn("could not remove image", "image", tag, "error", err)
			}
		}
	}
	return nil
}
