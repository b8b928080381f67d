-- Argo CD health check for secretsync.dev/SecretStore and ClusterSecretStore
-- (resource.customizations.health.secretsync.dev_SecretStore / _ClusterSecretStore).
-- Ready=True (validated for the current spec) is Healthy, Ready=False Degraded, anything else Progressing.
local hs = {}
if obj.status ~= nil then
  local generation = obj.metadata.generation
  if generation ~= nil and obj.status.observedGeneration ~= nil and obj.status.observedGeneration < generation then
    hs.status = "Progressing"
    hs.message = "secretsync has not validated the latest spec yet"
    return hs
  end
  for _, condition in ipairs(obj.status.conditions or {}) do
    if condition.type == "Ready" then
      if condition.status == "True" then
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
hs.message = "Waiting for validation"
return hs
