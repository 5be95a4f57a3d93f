"""What playbooks need beyond the engine: running any playbook by name (`mao run`), the
journal's sources and entries (`mao journal`), the QA reviewers' findings and report (`mao qa`).
Above the engine: these assemble requests and handle outputs; the engine runs the models."""
