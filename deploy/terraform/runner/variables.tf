variable "name" {
  description = "Prefix of the runner's own resources (never <prefix>-drill-*: those are the drill's)."
  type        = string
  default     = "turath-recovery"
}

variable "image" {
  description = "The suite's image (deploy/runner/Dockerfile), e.g. <account>.dkr.ecr.<region>.amazonaws.com/turath-recovery:1.0"
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the production VPC: the tasks reach RDS, the drill's restored DB and the search domain from here."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the runner tasks (egress to RDS 5432, the site, the search domain 443 and the AWS endpoints)."
  type        = list(string)
}

variable "drill_schedule" {
  description = "When the drill runs (EventBridge Scheduler expression). Default: monthly, 1st at 04:00 UTC, after the nightly snapshot."
  type        = string
  default     = "cron(0 4 1 * ? *)"
}

variable "watched_service_arns" {
  description = "Production ECS services whose completed deployments trigger a health run."
  type        = list(string)
}

variable "drill_optional_policies" {
  description = "Optional policy files the drill's options need (drill-storage-clone, drill-kms, drill-terraform, drill-search)."
  type        = list(string)
  default     = ["drill-search"]
  validation {
    condition     = alltrue([for p in var.drill_optional_policies : contains(["drill-storage-clone", "drill-kms", "drill-terraform", "drill-search"], p)])
    error_message = "Each entry must be one of drill-storage-clone, drill-kms, drill-terraform, drill-search."
  }
}

variable "environment" {
  description = "TURATH_* settings of both tasks (site URL, DB host inside the VPC, ...). No secrets here."
  type        = map(string)
  default     = {}
}

variable "db_password_arn" {
  description = "Secrets Manager secret or SSM SecureString parameter ARN holding the DB master password (TURATH_DB_PASSWORD)."
  type        = string
}

variable "evidence_retention_days" {
  description = "How long drill and health evidence is kept in the bucket."
  type        = number
  default     = 400
}

variable "cpu" {
  type    = number
  default = 1024
}

variable "memory" {
  type    = number
  default = 2048
}
