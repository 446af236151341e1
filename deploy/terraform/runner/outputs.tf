output "evidence_bucket" {
  description = "Where every run's report.html, junit.xml and results.json land (<mode>/<UTC stamp>/)."
  value       = aws_s3_bucket.evidence.bucket
}

output "task_definitions" {
  value = { for k, td in aws_ecs_task_definition.suite : k => td.arn }
}

output "task_roles" {
  description = "The roles the suite runs under: health holds health.json; drill holds health.json, drill.json and the optional files."
  value       = { for k, r in aws_iam_role.task : k => r.arn }
}

output "cluster" {
  value = aws_ecs_cluster.runner.arn
}
