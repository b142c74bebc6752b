// Package api is the one contract between runtime-agent and its clients: the
// JSON wire types of the agent's /v1 HTTP API, the input rules both sides
// enforce, and a Go client (retries through go-retryablehttp) that the
// Terraform provider uses. Nothing here touches the host.
//
// Routes (all but /healthz need "Authorization: Bearer <token>"):
//
//	GET    /healthz                              liveness, no auth
//	GET    /v1/environments                      environment names the agent knows, with their base images
//	GET    /v1/projects                          list projects
//	POST   /v1/projects                          create a project (generates its deploy key)
//	GET    /v1/projects/{slug}                   read a project
//	PATCH  /v1/projects/{slug}                   update name, environment, path (only while stopped)
//	DELETE /v1/projects/{slug}                   delete a project, its app and its data
//	POST   /v1/projects/{slug}/check-update      would this PATCH deploy? (environment known, path present in the deployed commit)
//	GET    /v1/projects/{slug}/deploy-key        public half of the project's SSH key
//	GET    /v1/projects/{slug}/deployment        desired + observed state of the app (?refresh=true asks the git host for the branch head)
//	PUT    /v1/projects/{slug}/deployment        set the desired state (running/stopped, commit pin, revision)
//	DELETE /v1/projects/{slug}/deployment        stop and remove the app, keep the project
//	GET    /v1/projects/{slug}/logs?tail=N       last lines of the app's container log (follow=true streams text)
//	GET    /v1/projects/{slug}/credentials       the app's generated admin login (Airflow, Open WebUI)
//	GET    /v1/projects/{slug}/build-log         the newest image build's output (text)
//	PUT/GET/DELETE /v1/projects/{slug}/variables/{key}, secrets/{key}, connections/{name}
//	GET    /v1/projects/{slug}/variables, secrets, connections   lists (never secret values)
//
// Every error is a JSON body {"error":{"code":"...","message":"..."}} whose
// code is one of the Code constants.
package api
