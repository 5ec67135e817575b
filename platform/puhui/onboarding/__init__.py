"""Partner onboarding: sign-up and verification, team invitations, second factor, the cooperation
workflow (JR/T 0269 7.3.2 a), production-access requests and embedded-surface page views."""
