output "hub_url" {
  description = "URL users open: https://<domain_name, or the load balancer's DNS name>."
  value       = "https://${local.hub_host}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (point domain_name at it)."
  value       = aws_lb.this.dns_name
}

output "alb_zone_id" {
  description = "Route 53 hosted zone ID of the load balancer, for an alias record."
  value       = aws_lb.this.zone_id
}

output "alb_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "alb_arn_suffix" {
  description = "ARN suffix of the load balancer, for CloudWatch alarm dimensions."
  value       = aws_lb.this.arn_suffix
}

output "https_listener_arn" {
  description = "ARN of the HTTPS (443) listener. Other modules add listener rules here (e.g. the AppsFlyer push receiver path)."
  value       = aws_lb_listener.https.arn
}

output "http_listener_arn" {
  description = "ARN of the HTTP (80) listener that redirects to HTTPS."
  value       = aws_lb_listener.http.arn
}

output "target_group_arn" {
  description = "ARN of the hub's target group."
  value       = aws_lb_target_group.this.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the hub's target group, for CloudWatch alarm dimensions."
  value       = aws_lb_target_group.this.arn_suffix
}

output "instance_id" {
  description = "ID of the hub host (for SSM Session Manager and the Ansible inventory)."
  value       = aws_instance.this.id
}

output "private_ip" {
  description = "Private IP address of the hub host."
  value       = aws_instance.this.private_ip
}

output "host_role_arn" {
  description = "ARN of the hub host's role. The per-user roles the user manager creates must trust exactly this principal."
  value       = aws_iam_role.this.arn
}

output "host_role_name" {
  description = "Name of the hub host's role."
  value       = aws_iam_role.this.name
}

output "instance_profile_name" {
  description = "Name of the hub host's instance profile."
  value       = aws_iam_instance_profile.this.name
}

output "user_role_trust_policy_json" {
  description = "Trust policy (JSON) for the per-user roles: only the hub host role may assume them. The user manager uses it when it creates mlplatform-user-<name>."
  value       = data.aws_iam_policy_document.user_role_trust.json
}
