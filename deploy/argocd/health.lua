-- Argo CD health check for secretsync's ExternalSecret, SecretStore and ClusterSecretStore
-- (resource.customizations.health.secretsync.dev_<Kind>): they share one status shape.
-- Ready=True is Healthy (Degraded when a remote value's own expiry has passed), Ready=False is
-- Degraded with its reason, and a status older than the spec, or none yet, is Progressing.
local hs = {}
if obj.status ~= nil then
  local generation = obj.metadata.generation
  if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
    hs.status = "Progressing"
    hs.message = "secretsync has not processed the latest spec yet"
    return hs
  end
  for _, condition in ipairs(obj.status.conditions or {}) do
    if condition.type == "Ready" then
      if condition.status == "True" and condition.reason == "RemoteSecretExpired" then
        hs.status = "Degraded"
      elseif condition.status == "True" then
        hs.status = "Healthy"
      elseif condition.status == "False" then
        hs.status = "Degraded"
      else
        hs.status = "Progressing"
      end
      hs.message = (condition.reason or "") .. ": " .. (condition.message or "")
      return hs
    end
  end
end
hs.status = "Progressing"
hs.message = "Waiting for secretsync's first verdict"
return hs
