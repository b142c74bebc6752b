package api

import "time"

// Project states, as the seed platform names them.
const (
	StatusCreated  = "created"  // configured, never deployed
	StatusDeployed = "deployed" // cloned and running
	StatusStopped  = "stopped"  // not running
	StatusFailed   = "failed"   // deploy or start failed; LastError says why
)

// Desired states of a deployment.
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// App types. AppTypes lists them in the order docs show them.
const (
	AppStreamlit = "streamlit"
	AppDash      = "dash"
	AppAirflow   = "airflow"
	AppOpenWebUI = "openwebui"
	AppWeb       = "web"
)

// AppTypes is every app type the API accepts.
var AppTypes = []string{AppStreamlit, AppDash, AppAirflow, AppOpenWebUI, AppWeb}

// Project is a project as the agent returns it.
type Project struct {
	ID          string `json:"id"` // equal to Slug; kept separate so clients need not know that
	Slug        string `json:"slug"`
	Name        string `json:"name"`
	AppType     string `json:"app_type"`
	Environment string `json:"environment"`
	GitURL      string `json:"git_url"`
	Branch      string `json:"branch"`
	Path        string `json:"path"`

	Status    string `json:"status"`
	LastError string `json:"last_error,omitempty"`
	URL       string `json:"url"`

	DeployPublicKey   string `json:"deploy_public_key"`
	FingerprintSHA256 string `json:"fingerprint_sha256"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateProjectRequest is the body of POST /v1/projects. Slug is derived from
// Name when empty; Branch defaults to "main".
type CreateProjectRequest struct {
	Name        string `json:"name"`
	Slug        string `json:"slug,omitempty"`
	AppType     string `json:"app_type"`
	Environment string `json:"environment"`
	GitURL      string `json:"git_url"`
	Branch      string `json:"branch,omitempty"`
	Path        string `json:"path"`
}

// UpdateProjectRequest is the body of PATCH /v1/projects/{slug}. Nil fields
// are left alone. Only these three fields may change after creation, and only
// while the app is not running.
type UpdateProjectRequest struct {
	Name        *string `json:"name,omitempty"`
	Environment *string `json:"environment,omitempty"`
	Path        *string `json:"path,omitempty"`
}

// ProjectList is the body of GET /v1/projects.
type ProjectList struct {
	Projects []Project `json:"projects"`
}

// DeployKey is the public half of a project's SSH key pair.
type DeployKey struct {
	ProjectID         string `json:"project_id"`
	PublicKey         string `json:"public_key"` // one authorized_keys line
	FingerprintSHA256 string `json:"fingerprint_sha256"`
}

// DeploymentSpec is the desired state of a project's app (PUT body).
type DeploymentSpec struct {
	// State is StateRunning or StateStopped.
	State string `json:"state"`
	// Commit pins a commit (full or abbreviated SHA). Empty follows the branch head.
	Commit string `json:"commit,omitempty"`
	// TargetCommit, when Commit is empty, deploys exactly this commit of the
	// branch now while the deployment keeps following the branch: Terraform
	// sends the head its plan showed, so apply deploys what plan said even if
	// the branch moved in between. It is not echoed back.
	TargetCommit string `json:"target_commit,omitempty"`
	// Revision is an opaque value; a change of it pulls and restarts the app
	// even when nothing else changed (Terraform's triggers).
	Revision string `json:"revision,omitempty"`
	// MemoryMB and CPUs limit the app's container; 0 means no limit.
	MemoryMB int64   `json:"memory_mb,omitempty"`
	CPUs     float64 `json:"cpus,omitempty"`
	// PathPrefix also serves the app at http://<apps domain>/<prefix>/ (the
	// app is told its base path). Not for Open WebUI or web apps, which
	// cannot run under a prefix. Empty: its own host name only.
	PathPrefix string `json:"path_prefix,omitempty"`
}

// Deployment is the desired and observed state of a project's app.
type Deployment struct {
	ProjectID string `json:"project_id"`
	DeploymentSpec

	// Exists is false while the project has never had a deployment (or it was deleted).
	Exists bool `json:"exists"`

	// Generation counts accepted specs; ObservedGeneration is the newest one the
	// agent has finished acting on (successfully or not).
	Generation         int64 `json:"generation"`
	ObservedGeneration int64 `json:"observed_generation"`

	Status    string `json:"status"`
	LastError string `json:"last_error,omitempty"`
	// Serving is true while a container of the app answers through the
	// proxy — also after a failed deploy, when the previous version kept
	// serving (Status is then "failed" and DeployedCommit the serving one).
	Serving        bool      `json:"serving"`
	DeployedCommit string    `json:"deployed_commit,omitempty"`
	BranchHead     string    `json:"branch_head,omitempty"` // set when read with refresh=true
	URL            string    `json:"url"`
	ContainerID    string    `json:"container_id,omitempty"`
	StartedAt      time.Time `json:"started_at,omitzero"`
}

// Settled reports whether the agent has acted on the newest spec.
func (d *Deployment) Settled() bool { return d.ObservedGeneration >= d.Generation }

// Logs is the body of GET /v1/projects/{slug}/logs.
type Logs struct {
	Lines []string `json:"lines"`
}

// Health is the body of GET /healthz.
type Health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

// Environments is the body of GET /v1/environments: environment name → base image.
type Environments struct {
	Environments map[string]string `json:"environments"`
}

// Credentials is the admin login of an app that has one (Airflow, Open
// WebUI), generated by the agent. It is returned only by GET
// .../credentials, to holders of the agent token, and never logged.
type Credentials struct {
	ProjectID string `json:"project_id"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	LoginURL  string `json:"login_url"`
}
