// The template engine of External Secrets Operator itself (its
// pkg/template/v2, Go text/template with Sprig and ESO's own functions), run
// on test cases: the reference `migrate` is held to. Reads
// [{"template": "...", "data": {"key": "<base64 bytes>"}}] on stdin and
// writes [{"output": "<base64>"} | {"error": "..."}] in the same order.
package main

import (
	"encoding/base64"
	"encoding/json"
	"os"

	esapi "github.com/external-secrets/external-secrets/apis/externalsecrets/v1"
	template "github.com/external-secrets/external-secrets/pkg/template/v2"
	corev1 "k8s.io/api/core/v1"
)

type testCase struct {
	Template string            `json:"template"`
	Data     map[string]string `json:"data"`
}

type result struct {
	Output *string `json:"output,omitempty"`
	Error  string  `json:"error,omitempty"`
}

func run(c testCase) result {
	data := map[string][]byte{}
	for k, v := range c.Data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return result{Error: "test case: " + err.Error()}
		}
		data[k] = b
	}
	secret := &corev1.Secret{}
	// As ESO renders spec.target.template.data: each value a template, with the fetched data in scope.
	err := template.Execute(map[string][]byte{"out": []byte(c.Template)}, data, esapi.TemplateScopeValues, esapi.TemplateTargetData, secret)
	if err != nil {
		return result{Error: err.Error()}
	}
	out := base64.StdEncoding.EncodeToString(secret.Data["out"])
	return result{Output: &out}
}

func main() {
	var cases []testCase
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		os.Stderr.WriteString("eso-template: " + err.Error() + "\n")
		os.Exit(2)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		results[i] = run(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		os.Exit(2)
	}
}
