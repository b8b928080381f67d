-- Runs the Argo CD health check in deploy/argocd against Ready, failing,
-- stale and new objects, the way Argo CD calls them (a chunk with `obj` set).
local failures = 0

local function check(script, name, obj, want_status, want_message)
  local env = { obj = obj, ipairs = ipairs }
  local chunk = assert(loadfile(script, "t", env))
  local hs = chunk()
  local ok = hs.status == want_status and (want_message == nil or string.find(hs.message, want_message, 1, true) ~= nil)
  if not ok then
    failures = failures + 1
    print(string.format("FAIL %s %s: got %s (%s), want %s (%s)", script, name, tostring(hs.status), tostring(hs.message), want_status, tostring(want_message)))
  else
    print(string.format("ok   %s %s: %s", script, name, hs.status))
  end
end

local function object(generation, observed, ready)
  local status = nil
  if observed ~= nil then
    status = { observedGeneration = observed, conditions = { ready } }
  end
  return { metadata = { name = "x", generation = generation }, status = status }
end

local script = "deploy/argocd/health.lua"
local es = script
check(es, "synced", object(2, 2, { type = "Ready", status = "True", reason = "SecretSynced", message = "Secret is in sync" }), "Healthy", "SecretSynced")
check(es, "failing", object(2, 2, { type = "Ready", status = "False", reason = "RemoteNotFound", message = "remote secret \"db\" not found" }), "Degraded", "RemoteNotFound")
check(es, "expired remote value", object(1, 1, { type = "Ready", status = "True", reason = "RemoteSecretExpired", message = "expired" }), "Degraded", "RemoteSecretExpired")
check(es, "spec changed, not yet seen", object(3, 2, { type = "Ready", status = "True", reason = "SecretSynced", message = "" }), "Progressing")
check(es, "new", object(1, nil, nil), "Progressing", "first verdict")

local store = script
check(store, "valid", object(1, 1, { type = "Ready", status = "True", reason = "Valid", message = "store validated" }), "Healthy", "Valid")
check(store, "refused", object(1, 1, { type = "Ready", status = "False", reason = "ValidationFailed", message = "AADSTS7000215" }), "Degraded", "ValidationFailed")
check(store, "re-validating", object(4, 3, { type = "Ready", status = "True", reason = "Valid", message = "" }), "Progressing")
check(store, "new", object(1, nil, nil), "Progressing")

if failures > 0 then
  os.exit(1)
end
