output "alb_security_group_id" {
  description = "Security group for the public ALB (443 and the 80 redirect from alb_allowed_cidrs)."
  value       = aws_security_group.this["alb"].id
}

output "jupyterhub_security_group_id" {
  description = "Security group for the JupyterHub host (the hub port from the ALB only)."
  value       = aws_security_group.this["jupyterhub"].id
}

output "metadata_service_security_group_id" {
  description = "Security group for the metadata service tasks and their internal load balancer."
  value       = aws_security_group.this["metadata_service"].id
}

output "batch_security_group_id" {
  description = "Security group for the AWS Batch compute environment instances."
  value       = aws_security_group.this["batch"].id
}

output "database_security_group_id" {
  description = "Security group for the RDS PostgreSQL instance (5432 from the metadata service and operations only)."
  value       = aws_security_group.this["database"].id
}

output "efs_security_group_id" {
  description = "Security group for EFS mount targets (NFS from the hub, Batch and the services). Attach it to the existing mount targets, or pass it to the efs module when it creates them."
  value       = aws_security_group.this["efs"].id
}

output "operations_security_group_id" {
  description = "Security group for the monitoring task and the doctor: may reach PostgreSQL, the metadata API and migration endpoint, and the Prometheus endpoint."
  value       = aws_security_group.this["operations"].id
}

output "services_security_group_id" {
  description = "Security group for the platform services (AppsFlyer Push receiver from the ALB, Prometheus endpoint)."
  value       = aws_security_group.this["services"].id
}

output "security_group_ids" {
  description = "Every security group of the platform, by role (alb, jupyterhub, metadata_service, batch, database, efs, operations, services)."
  value       = local.sg
}

output "vpc_id" {
  description = "ID of the existing VPC."
  value       = var.vpc_id
  depends_on  = [data.aws_vpc.this]
}

output "vpc_cidr_block" {
  description = "Primary IPv4 CIDR block of the existing VPC."
  value       = data.aws_vpc.this.cidr_block
}

# The inputs themselves (known at plan time, so that other modules can use them in for_each),
# released only after the data sources have checked them.
output "private_subnet_ids" {
  description = "IDs of the private subnets, in the order given, after checking that they belong to the VPC."
  value       = var.private_subnet_ids
  depends_on  = [data.aws_subnet.private]
}

output "public_subnet_ids" {
  description = "IDs of the public subnets, in the order given, after checking that they belong to the VPC."
  value       = var.public_subnet_ids
  depends_on  = [data.aws_subnet.public]
}

output "private_subnet_availability_zones" {
  description = "Availability Zone of each private subnet, keyed by subnet ID."
  value       = { for id, subnet in data.aws_subnet.private : id => subnet.availability_zone }
}
